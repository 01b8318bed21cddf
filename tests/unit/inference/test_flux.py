"""The Flux code path (flux-schnell) on a tiny random Flux built here: transformer, CLIP, T5."""

from __future__ import annotations

import numpy as np
import pytest

from inference.capabilities import Unsupported, check
from inference.engine import Engine
from inference.outpaint import zoom_out
from inference.presets import PRESETS, canvas_limit, resolution
from inference.prompt import parse
from inference.tiles import plan

TINY_FLUX = PRESETS["tiny-flux"]


@pytest.fixture(scope="module")
def flux(tiny_models_dir):
    engine = Engine("tiny-flux", tiny_models_dir)
    engine.load()
    return engine


def test_the_preset_matches_flux_schnell():
    schnell = PRESETS["flux-schnell"]
    assert (schnell.model_id, schnell.native_size, schnell.default_steps) == (
        "black-forest-labs/FLUX.1-schnell",
        1024,
        4,
    )
    assert (schnell.guidance_scale, schnell.multiple) == (0.0, 16)
    assert resolution(schnell, (16, 9)) == (1360, 768)


@pytest.mark.slow
def test_a_flux_grid_is_four_reproducible_images_and_weights_blend(flux):
    request = parse("a red fox --ar 3:2 --seed 4")
    images = flux.grid(request, seed=4)
    assert type(flux._pipe).__name__ == "FluxPipeline"
    assert [i.size for i in images] == [resolution(TINY_FLUX, (3, 2))] * 4
    again = flux.grid(request, seed=4)
    assert all(
        np.array_equal(np.asarray(a), np.asarray(b)) for a, b in zip(images, again, strict=True)
    )
    weighted = flux.grid(parse("a red fox:: snow::2 --ar 3:2 --seed 4"), seed=4)
    assert not np.array_equal(np.asarray(images[0]), np.asarray(weighted[0]))


@pytest.mark.slow
def test_flux_varies_upscales_and_outpaints(flux):
    [source, *_] = flux.grid(parse("a fox --seed 1"), seed=1)
    request = parse("a fox")
    assert [i.size for i in flux.vary(request, source, seed=2, strength=0.7)] == [source.size] * 4
    assert flux.upscale(request, source, seed=3, creative=False).size == (128, 128)
    canvas = zoom_out(source, 2.0, TINY_FLUX.multiple, canvas_limit(TINY_FLUX), (1, 1))
    assert len(flux.outpaint(request, canvas, seed=4)) == 4


def test_flux_img2img_renders_at_the_source_size_not_its_default(flux, monkeypatch):
    # Flux's img2img pipeline renders at 1024 px square unless told a size; the engine's
    # final resize would hide a stretched, sixteen-times-too-large render.
    rendered = []
    pipeline = flux._img2img

    def recording(**kwargs):
        result = pipeline(**kwargs)
        rendered.extend(image.size for image in result.images)
        return result

    monkeypatch.setattr(flux, "_img2img", recording)
    [wide, *_] = flux.grid(parse("a fox --ar 2:1 --seed 1"), seed=1)
    flux.vary(parse("a fox --ar 2:1"), wide, seed=2, strength=0.7)
    flux.upscale(parse("a fox"), wide, seed=3, creative=True)  # redrawn in native tiles
    assert wide.width == 2 * wide.height
    tiles = plan((2 * wide.width, 2 * wide.height), TINY_FLUX.native_size, 8)
    assert rendered == [wide.size] * 4 + [(TINY_FLUX.native_size,) * 2] * len(tiles)


@pytest.mark.parametrize(
    ("prompt", "says"),
    [
        ("a fox --no snow", "has no negative prompt"),
        ("a fox:: snow::-0.5", "has no negative prompt"),
        ("a fox --tile", "cannot make tiling images"),
    ],
    ids=["no", "negative-weight", "tile"],
)
def test_flux_refuses_what_it_cannot_do_naming_the_model(flux, prompt, says):
    request = parse(prompt)
    served = {"tiny-flux": TINY_FLUX, "tiny": PRESETS["tiny"]}
    with pytest.raises(Unsupported, match=says) as refused:
        check(TINY_FLUX, request, served)
    assert "pick a model that has it: tiny" in refused.value.message
    check(PRESETS["tiny"], request, served)
    with pytest.raises(ValueError, match=says):
        flux.grid(request, seed=1)


def test_a_flux_preset_declared_with_a_negative_prompt_refuses_it_at_render(tiny_models_dir):
    from dataclasses import replace

    from inference.engine import Engine

    claims = replace(TINY_FLUX, name="claims", supports=frozenset({"negative", "tile"}))
    engine = Engine(claims, tiny_models_dir)
    with pytest.raises(ValueError, match="has no negative prompt"):
        engine.grid(parse("a fox --no snow"), seed=1)
