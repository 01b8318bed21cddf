"""The invisible watermark: the job id hidden in the picture, read back."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageFilter

from db import ImageStore
from inference.watermark import MIN_SIDE, mark, read_mark
from inference.worker import Worker
from tests.unit.inference.worker_jobs import new_job, run_one, tiny_pool


def _picture(size: tuple[int, int] = (320, 288)) -> Image.Image:
    """A photo-like picture: soft structure in the mid-tones (the DWT-DCT mark loses bits in
    blocks clipped at black or white)."""
    rng = np.random.default_rng(size[0] * 7 + size[1])
    noise = Image.fromarray(rng.integers(40, 216, (size[1], size[0], 3), dtype=np.uint8))
    return noise.filter(ImageFilter.GaussianBlur(3))


def test_a_marked_image_names_its_job_and_looks_the_same():
    original = _picture()
    marked = mark(original, 123456)
    assert marked.size == original.size and marked.mode == "RGB"
    assert read_mark(marked) == 123456
    change = np.abs(np.asarray(marked, dtype=int) - np.asarray(original, dtype=int))
    assert change.mean() < 4  # invisible: a few levels out of 255 on average


def test_an_unmarked_image_carries_no_job():
    assert read_mark(_picture()) is None


def test_the_mark_survives_a_png_round_trip_but_not_jpeg():
    marked = mark(_picture(), 77)
    for fmt, expected in (("PNG", 77), ("JPEG", None)):
        buffer = io.BytesIO()
        marked.save(buffer, fmt, quality=85)
        assert read_mark(Image.open(io.BytesIO(buffer.getvalue()))) == expected


def test_images_too_small_for_the_mark_are_left_as_they_are():
    small = _picture((MIN_SIDE - 1, 400))
    assert mark(small, 5) is small and read_mark(small) is None


@pytest.fixture
def watermarking_worker(repo, tmp_path, tiny_models_dir):
    engines = tiny_pool(tiny_models_dir, native_size=320)  # large enough to carry a mark
    engines.get("tiny").load()
    return Worker(repo.worker, ImageStore(tmp_path / "images"), engines, "w", watermark=True)


async def test_the_worker_marks_every_stored_image_with_its_job(watermarking_worker, repo):
    done = await run_one(watermarking_worker, repo, new_job("a marked fox --seed 4"))
    assert len(done.images) == 5  # the grid and its four images
    for stored in done.images:
        with Image.open(watermarking_worker.store.path(stored.sha256, stored.format)) as image:
            assert read_mark(image) == done.id
