"""Image prompts: the --iw strength, the start picture, and grids rendered from stored images
by the worker (real database, image store and tiny model)."""

from __future__ import annotations

from dataclasses import replace
from itertools import pairwise

import numpy as np
import pytest
import torch
from PIL import Image

from db import (
    ImageStore,
    JobState,
)
from inference.image_prompts import image_prompt_strength, start_image
from inference.presets import PRESETS, resolution
from inference.seeds import grid_seeds
from inference.worker import Worker
from services.image_fetch import png_bytes
from testing.imageserver import gradient
from testing.jobs import JobTables
from tests.unit.inference.worker_jobs import new_job, run_one, tiny_pool

URL = "https://cdn.discordapp.com/attachments/1/2/fox.png"
# Eight steps, so each --iw level runs a different number of denoising steps.
TINY = replace(PRESETS["tiny"], default_steps=8)


@pytest.mark.parametrize(
    ("iw", "strength"),
    [(None, 0.75), (0, 1.0), (0.5, 0.875), (1, 0.75), (2, 0.5), (3, 0.25)],
    ids=["default", "zero", "half", "one", "two", "three"],
)
def test_image_weight_maps_to_img2img_strength(iw, strength):
    assert image_prompt_strength(iw) == pytest.approx(strength)


def test_strength_stays_inside_what_img2img_can_do():
    assert image_prompt_strength(10) == 0.05 and image_prompt_strength(-1) == 1.0


def test_start_image_covers_the_size_and_keeps_the_centre():
    stripes = Image.new("RGB", (300, 100), (255, 0, 0))
    stripes.paste((0, 255, 0), (100, 0, 200, 100))
    stripes.paste((0, 0, 255), (200, 0, 300, 100))
    start = start_image([stripes], (64, 64))
    assert start.size == (64, 64) and start.mode == "RGB"
    assert np.asarray(start)[8:56, 8:56].mean(axis=(0, 1)).round().tolist() == [0, 255, 0]


def test_two_images_are_averaged():
    black, white = Image.new("RGB", (10, 20)), Image.new("RGB", (40, 40), (255, 255, 255))
    start = start_image([black, white], (16, 8))
    assert start.size == (16, 8) and np.unique(np.asarray(start)).tolist() == [128]


def test_start_image_needs_an_image():
    with pytest.raises(ValueError, match="at least one image"):
        start_image([], (8, 8))


@pytest.fixture
def worker(repo, tmp_path, tiny_models_dir):
    engines = tiny_pool(tiny_models_dir, default_steps=TINY.default_steps)
    engines.get("tiny").load()
    return Worker(repo.worker, ImageStore(tmp_path / "images"), engines, "test-worker")


async def _render(worker: Worker, repo: JobTables, prompt: str, images: list[str]):
    return await run_one(worker, repo, new_job(prompt, prompt_images=images))


def _pixels(worker: Worker, image) -> np.ndarray:
    with Image.open(worker.store.path(image.sha256, image.format)) as img:
        return np.asarray(img.convert("RGB"), np.float32)


async def test_a_prompt_image_job_renders_a_grid_at_the_aspect_size(worker, repo):
    digest = worker.store.put(png_bytes(gradient(120, 80)), "png")
    done = await _render(worker, repo, f"{URL} a red fox --ar 3:2 --seed 42", [digest])
    assert done.state == JobState.DONE, done.error
    assert done.seeds == grid_seeds(42)
    width, height = resolution(TINY, (3, 2))
    grid, *singles = done.images
    assert (grid.width, grid.height) == (2 * width, 2 * height)
    assert [(i.width, i.height, i.seed) for i in singles] == [
        (width, height, s) for s in grid_seeds(42)
    ]
    assert _pixels(worker, grid).shape == (2 * height, 2 * width, 3)
    again = await _render(worker, repo, f"{URL} a red fox --ar 3:2 --seed 42", [digest])
    # Files differ by their job id (provenance); the pixels are the same.
    assert np.array_equal(_pixels(worker, again.images[0]), _pixels(worker, grid))
    text_only = await _render(worker, repo, "a red fox --ar 3:2 --seed 42", [])
    assert np.abs(_pixels(worker, text_only.images[0]) - _pixels(worker, grid)).mean() > 1


def _vae_round_trip(worker: Worker, image: Image.Image) -> np.ndarray:
    """What the (random) tiny VAE makes of the image itself: the nearest the model can get."""
    vae = worker.engines.get("tiny")._pipe.vae
    pixels = torch.from_numpy(np.asarray(image, np.float32) / 127.5 - 1).permute(2, 0, 1)[None]
    with torch.no_grad():
        decoded = vae.decode(vae.encode(pixels).latent_dist.mean).sample[0]
    return (decoded.clamp(-1, 1).permute(1, 2, 0).numpy() + 1) * 127.5


async def test_a_higher_image_weight_stays_closer_to_the_image(worker, repo):
    source = gradient(120, 80)
    digest = worker.store.put(png_bytes(source), "png")
    width, height = resolution(TINY, (3, 2))
    start = start_image([source], (width, height))
    reference, reachable = np.asarray(start, np.float32), _vae_round_trip(worker, start)
    to_source, to_reachable = [], []
    for iw in (0, 1, 2, 3):
        done = await _render(worker, repo, f"{URL} a red fox --ar 3:2 --seed 5 --iw {iw}", [digest])
        assert done.state == JobState.DONE, done.error
        singles = [_pixels(worker, image) for image in done.images[1:]]
        to_source.append(np.mean([np.abs(s - reference).mean() for s in singles]))
        to_reachable.append(np.mean([np.abs(s - reachable).mean() for s in singles]))
    # The tiny model's VAE is random, so even a perfect copy lands far from the source; the
    # distance to what the VAE makes of the source shows the weight step by step.
    assert to_source[-1] < to_source[0] - 1
    assert all(a > b + 0.5 for a, b in pairwise(to_reachable))


async def test_two_prompt_images_render_from_their_average(worker, repo):
    first = worker.store.put(png_bytes(gradient(120, 80)), "png")
    second = worker.store.put(png_bytes(Image.new("RGB", (50, 50), (200, 30, 30))), "png")
    one = await _render(worker, repo, f"{URL} {URL}2 --seed 3 --iw 3", [first, first])
    two = await _render(worker, repo, f"{URL} {URL}2 --seed 3 --iw 3", [first, second])
    assert one.state == two.state == JobState.DONE, (one.error, two.error)
    assert np.abs(_pixels(worker, one.images[0]) - _pixels(worker, two.images[0])).mean() > 1


async def test_a_job_whose_prompt_images_were_never_stored_fails_saying_so(worker, repo):
    done = await _render(worker, repo, f"{URL} a red fox", [])
    assert done.state == JobState.FAILED
    assert "image prompts of this job were never downloaded" in done.error


async def test_style_and_character_reference_jobs_render_with_their_stored_images(worker, repo):
    red = worker.store.put(png_bytes(Image.new("RGB", (40, 40), (200, 30, 30))), "png")
    blue = worker.store.put(png_bytes(Image.new("RGB", (40, 40), (20, 40, 220))), "png")
    plain = await _render(worker, repo, "a red fox --seed 5", [])
    grids = {}
    for name, prompt, images in [
        ("red", f"a red fox --seed 5 --sref {URL}", [red]),
        ("blue", f"a red fox --seed 5 --sref {URL}", [blue]),
        ("both", f"a red fox --seed 5 --sref {URL} --cref {URL}2 --cw 20", [red, blue]),
    ]:
        done = await _render(worker, repo, prompt, images)
        assert done.state == JobState.DONE, done.error
        grids[name] = _pixels(worker, done.images[0])
    base = _pixels(worker, plain.images[0])
    assert all(np.abs(grid - base).mean() > 1 for grid in grids.values())
    assert np.abs(grids["red"] - grids["blue"]).mean() > 1
    assert np.abs(grids["red"] - grids["both"]).mean() > 1
    missing = await _render(worker, repo, f"a red fox --sref {URL}", [])
    assert missing.state == JobState.FAILED and "never downloaded" in missing.error
