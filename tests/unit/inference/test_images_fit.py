from __future__ import annotations

import io

import numpy as np
from PIL import Image

from inference.images import encode_png, fit_upload


def _noise_png(side: int) -> bytes:
    pixels = np.random.default_rng(1).integers(0, 256, (side, side, 3), dtype=np.uint8)
    return encode_png(Image.fromarray(pixels), {"prompt": "noise"})


def test_small_files_pass_unchanged():
    data = _noise_png(64)
    assert fit_upload(data, 10 * 1024 * 1024) == (data, "png")


def test_an_oversized_grid_is_re_encoded_to_fit_and_keeps_its_size_when_it_can():
    data = _noise_png(2048)  # random pixels do not compress: about 12 MB as PNG
    limit = 10 * 1024 * 1024
    assert len(data) > limit
    fitted, ext = fit_upload(data, limit)
    assert len(fitted) <= limit and ext in ("webp", "jpg")
    with Image.open(io.BytesIO(fitted)) as image:
        assert image.size == (2048, 2048)


def test_a_tight_limit_downscales_rather_than_drops():
    fitted, ext = fit_upload(_noise_png(512), 40_000)
    assert len(fitted) <= 40_000
    with Image.open(io.BytesIO(fitted)) as image:
        assert image.width < 512
