"""Latent previews: a fixed linear map from latents to a small RGB image, no VAE."""

from __future__ import annotations

import io
import threading

import numpy as np
import pytest
import torch
from PIL import Image

from inference import hooks
from inference.engine import Engine
from inference.preview import (
    PREVIEW_SIDE,
    SD_PALETTE,
    SDXL_PALETTE,
    encode_preview,
    latent_preview,
    palette_for,
)
from inference.prompt import parse


def _bias_colour(palette) -> tuple[int, ...]:
    return tuple(round((b + 1) * 127.5) for b in palette.bias)


@pytest.mark.parametrize("palette", [SD_PALETTE, SDXL_PALETTE], ids=["sd", "sdxl"])
def test_an_all_zero_latent_gives_the_bias_colour(palette):
    preview = latent_preview(torch.zeros(4, 4, 8, 12), palette)
    colours = {tuple(c) for c in np.asarray(preview).reshape(-1, 3)}
    assert colours == {_bias_colour(palette)}


@pytest.mark.parametrize(
    ("batch", "height", "width", "size"),
    [
        (4, 64, 64, (256, 256)),
        (4, 48, 80, (256, 154)),
        (1, 128, 96, (192, 256)),
        (4, 8, 8, (256, 256)),
    ],
    ids=["grid-square", "grid-wide", "single-tall", "tiny-latents-scaled-up"],
)
def test_the_preview_is_a_grid_of_the_batch_at_most_256_px(batch, height, width, size):
    preview = latent_preview(torch.randn(batch, 4, height, width), SD_PALETTE)
    assert preview.mode == "RGB" and preview.size == size
    assert max(preview.size) == PREVIEW_SIDE


def test_the_grid_places_image_i_like_the_result_grid():
    latents = torch.zeros(4, 4, 8, 8)
    latents[3, 0] = 3.0  # only the fourth image is bright: bottom right
    preview = np.asarray(latent_preview(latents, SD_PALETTE, max_side=16)).astype(int)
    quarters = [preview[:8, :8], preview[:8, 8:], preview[8:, :8], preview[8:, 8:]]
    brightness = [q.mean() for q in quarters]
    assert brightness.index(max(brightness)) == 3
    assert brightness[0] == brightness[1] == brightness[2]


def test_the_conversion_is_deterministic_and_follows_the_matrix():
    latents = torch.randn(2, 4, 8, 8, generator=torch.Generator().manual_seed(5))
    first = np.asarray(latent_preview(latents, SD_PALETTE, max_side=16))
    assert np.array_equal(first, np.asarray(latent_preview(latents, SD_PALETTE, max_side=16)))
    pixel = latents[0, :, 0, 0].numpy() @ np.asarray(SD_PALETTE.factors)
    expected = np.round((np.clip(pixel, -1, 1) + 1) * 127.5)
    assert np.array_equal(first[0, 0], expected.astype(np.uint8))


def test_latents_of_the_wrong_shape_are_refused_with_the_shape():
    with pytest.raises(ValueError, match=r"\(batch, 4, h, w\), got \(1, 16, 8, 8\)"):
        latent_preview(torch.zeros(1, 16, 8, 8), SD_PALETTE)


def test_a_preview_encodes_as_a_small_jpeg():
    data = encode_preview(latent_preview(torch.randn(4, 4, 64, 64), SDXL_PALETTE))
    assert data[:3] == b"\xff\xd8\xff" and len(data) < 64 * 1024
    assert Image.open(io.BytesIO(data)).size == (256, 256)


def test_each_family_gets_its_palette(tiny_models_dir):
    sd, xl = Engine("tiny", tiny_models_dir), Engine("tiny-xl", tiny_models_dir)
    sd.load()
    xl.load()
    assert palette_for(sd._pipe) is SD_PALETTE and palette_for(xl._pipe) is SDXL_PALETTE
    assert palette_for(object()) is None


def test_a_render_sends_previews_between_its_first_and_last_step(tiny_models_dir, monkeypatch):
    monkeypatch.setattr(hooks, "PREVIEW_INTERVAL_S", 0.0)
    engine = Engine("tiny", tiny_models_dir)
    previews, progress = [], []
    request = parse("a fox --seed 3 --q 2")  # 4 steps
    engine.grid(request, seed=3, progress=progress.append, preview=previews.append)
    assert len(progress) == 4 and len(previews) == 2  # not after the first, nor the last
    assert all(p.size == (256, 256) and p.mode == "RGB" for p in previews)


def test_no_preview_is_made_within_the_interval(tiny_models_dir):
    engine = Engine("tiny", tiny_models_dir)
    previews = []
    engine.grid(parse("a fox --seed 3"), seed=3, preview=previews.append, cancel=threading.Event())
    assert previews == []  # a two-step render ends before a preview is due
