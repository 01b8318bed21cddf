"""The engine on the tiny preset: real diffusers loading and denoising, offline."""

from __future__ import annotations

import threading
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from inference.capabilities import guidance_for, steps_for
from inference.engine import CREATIVE_STEPS, Engine
from inference.hooks import Cancelled
from inference.images import compose_grid, crop_from_grid
from inference.operations import VARY_STRONG
from inference.presets import PRESETS, canvas_limit, get_preset, resolution
from inference.prompt import WeightedPrompt, parse


@pytest.fixture(scope="module")
def engine(tiny_models_dir):
    engine = Engine("tiny", tiny_models_dir)
    engine.load()
    return engine


def _arrays(images):
    return [np.asarray(image) for image in images]


def test_grid_is_four_images_at_the_aspect_bucket(engine):
    images = engine.grid(parse("a red fox --ar 3:2"), seed=1)
    assert len(images) == 4
    assert {image.size for image in images} == {resolution(engine.preset, (3, 2))}
    assert images[0].width > images[0].height


def test_same_request_and_seed_give_identical_pixels_and_another_seed_differs(engine):
    request = parse("a red fox --no people")
    first, again = _arrays(engine.grid(request, seed=7)), _arrays(engine.grid(request, seed=7))
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    other = _arrays(engine.grid(request, seed=8))
    assert not np.array_equal(first[0], other[0])
    assert not np.array_equal(first[0], first[1])  # each image has its own seed


def test_weights_and_negative_prompt_change_the_result(engine):
    base = _arrays(engine.grid(parse("hot dog"), seed=3))[0]
    weighted = _arrays(engine.grid(parse("hot::2 dog"), seed=3))[0]
    negative = _arrays(engine.grid(parse("hot dog --no mustard"), seed=3))[0]
    assert not np.array_equal(base, weighted)
    assert not np.array_equal(base, negative)


def test_vary_keeps_the_source_size_and_differs_from_it(engine):
    source = engine.grid(parse("a fox --ar 2:3"), seed=5)[0]
    variations = engine.vary(parse("a fox --ar 2:3"), source, seed=9, strength=VARY_STRONG)
    assert len(variations) == 4 and {v.size for v in variations} == {source.size}
    assert not np.array_equal(np.asarray(variations[0]), np.asarray(source))


def test_a_remix_to_another_aspect_ratio_varies_the_source_cropped_to_it(engine):
    source = engine.grid(parse("a fox"), seed=5)[0]  # square
    wide = engine.vary(parse("a fox --ar 2:1"), source, seed=9, strength=VARY_STRONG)
    assert {v.size for v in wide} == {resolution(engine.preset, (2, 1))}
    assert wide[0].width == 2 * wide[0].height


def test_progress_rises_to_one(engine):
    seen: list[float] = []
    engine.grid(parse("a fox"), seed=1, progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) == engine.preset.default_steps


def test_cancel_stops_the_render(engine):
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        engine.grid(parse("a fox"), seed=1, cancel=cancel)


def test_crop_from_grid_inverts_compose(engine):
    images = engine.grid(parse("a fox --ar 3:2"), seed=2)
    grid = compose_grid(images)
    for n, image in enumerate(images, start=1):
        assert np.array_equal(np.asarray(crop_from_grid(grid, n)), np.asarray(image.convert("RGB")))


@pytest.mark.parametrize(
    ("aspect", "expected"),
    [((1, 1), (512, 512)), ((3, 2), (640, 448)), ((2, 3), (448, 640)), ((16, 9), (704, 384))],
    ids=["square", "landscape", "portrait", "wide"],
)
def test_sd_turbo_buckets_keep_the_native_area_in_multiples_of_64(aspect, expected):
    width, height = resolution(PRESETS["sd-turbo"], aspect)
    assert (width, height) == expected and width % 64 == height % 64 == 0


def test_unknown_preset_lists_the_valid_ones():
    with pytest.raises(ValueError, match="sd-turbo"):
        get_preset("dalle")


def _unet_calls(engine, request, seed=1):
    calls = []
    handle = engine._pipe.unet.register_forward_hook(lambda *args: calls.append(1))
    try:
        images = engine.grid(request, seed)
    finally:
        handle.remove()
    return len(calls), images


@pytest.mark.parametrize(("quality", "steps"), [(0.25, 1), (0.5, 2), (1, 4), (2, 8)])
def test_quality_scales_the_steps(quality, steps):
    preset = replace(PRESETS["tiny"], default_steps=4)
    assert steps_for(preset, quality) == steps


def test_quality_changes_the_number_of_unet_calls(engine):
    low, _ = _unet_calls(engine, parse("a fox --q .5"))
    high, _ = _unet_calls(engine, parse("a fox --q 2"))
    assert high == 4 * low  # one batched call per step (CFG in the same batch)


def test_stop_exits_early_and_still_returns_decoded_images(engine):
    full, _ = _unet_calls(engine, parse("a fox --q 2"))
    early, images = _unet_calls(engine, parse("a fox --q 2 --stop 50"))
    assert early == full // 2 and len(images) == 4
    assert images[0].size == resolution(engine.preset, (1, 1))


def test_stylize_moves_guidance_and_changes_the_image(engine):
    base = PRESETS["tiny"]
    assert guidance_for(base, parse("a")) == base.guidance_scale
    assert guidance_for(base, parse("a --s 1000")) == 2 * base.guidance_scale
    turbo = PRESETS["sd-turbo"]
    assert guidance_for(turbo, parse("a --s 750")) == 0.0
    assert guidance_for(turbo, parse("a --no b")) == turbo.negative_guidance
    plain = np.asarray(engine.grid(parse("a fox"), seed=3)[0])
    styled = np.asarray(engine.grid(parse("a fox --s 1000"), seed=3)[0])
    assert not np.array_equal(plain, styled)


def _wrap_gap(image):
    """How different the left and right edges are, relative to neighbouring columns."""
    a = np.asarray(image, dtype=float)
    wrap = np.abs(a[:, 0] - a[:, -1]).mean()
    inner = np.abs(a[:, 1:] - a[:, :-1]).mean()
    return wrap / inner


def test_tile_makes_opposite_edges_meet_and_leaves_the_pipeline_as_it_was(engine):
    tiled = [_wrap_gap(img) for img in engine.grid(parse("a fox --tile"), seed=5)]
    plain = [_wrap_gap(img) for img in engine.grid(parse("a fox"), seed=5)]
    assert np.mean(tiled) < np.mean(plain)
    modes = {m.padding_mode for m in engine._pipe.unet.modules() if hasattr(m, "padding_mode")}
    assert modes == {"zeros"}


def _spread(images) -> float:
    """Mean pixel distance between the images of a grid, pairwise."""
    arrays = [np.asarray(image, dtype=np.float32) for image in images]
    pairs = [(a, b) for i, a in enumerate(arrays) for b in arrays[i + 1 :]]
    return float(np.mean([np.abs(a - b).mean() for a, b in pairs]))


def test_chaos_moves_each_image_its_own_way_and_stays_reproducible(engine):
    calm = _arrays(engine.grid(parse("a red fox"), seed=21))
    wild = _arrays(engine.grid(parse("a red fox --chaos 100"), seed=21))
    moves = [w.astype(np.float32) - c for w, c in zip(wild, calm, strict=True)]
    assert all(np.abs(move).mean() > 1 for move in moves)
    assert _spread(moves) > 1  # not one shared shift: each image drifts its own way
    again = engine.grid(parse("a red fox --chaos 100"), seed=21)
    assert all(np.array_equal(a, b) for a, b in zip(_arrays(wild), _arrays(again), strict=True))


def test_upscales_run_the_super_resolution_model_and_creative_redraws_it(engine):
    source = engine.grid(parse("a fox --ar 3:2"), seed=4)[0]
    request = parse("a fox --ar 3:2")
    subtle = engine.upscale(request, source, seed=4)
    assert subtle.size == (2 * source.width, 2 * source.height) and subtle.mode == "RGB"
    assert engine.upscaler.scale == 4  # the tiny Real-ESRGAN compact twin, through spandrel
    plain = np.asarray(source.resize(subtle.size), dtype=np.float32)
    assert np.abs(np.asarray(subtle, np.float32) - plain).mean() > 2  # not a plain resize
    assert np.array_equal(np.asarray(subtle), np.asarray(engine.upscale(request, source, 4)))
    four = engine.upscale(request, source, seed=4, factor=4)
    assert four.size == (4 * source.width, 4 * source.height)
    creative = engine.upscale(request, source, seed=4, creative=True)
    again = engine.upscale(request, source, seed=4, creative=True)
    assert creative.size == subtle.size and np.array_equal(np.asarray(creative), np.asarray(again))
    redrawn = np.abs(np.asarray(creative, np.float32) - np.asarray(subtle, np.float32)).mean()
    assert redrawn > 2  # the img2img pass over the tiles changed the picture


def test_creative_upscale_redraws_tile_by_tile_with_real_steps(engine, monkeypatch):
    calls = []
    img2img = engine._img2img

    def recording(**kwargs):
        calls.append((kwargs["image"].size, kwargs["num_inference_steps"], kwargs["strength"]))
        return img2img(**kwargs)

    monkeypatch.setattr(engine, "_img2img", recording)
    source = engine.grid(parse("a fox"), seed=2)[0]  # 64 px: 128 px after 2x, 3 x 3 tiles
    progress = []
    engine.upscale(parse("a fox"), source, seed=2, creative=True, progress=progress.append)
    side = engine.preset.native_size
    assert [size for size, _, _ in calls] == [(side, side)] * 9
    assert all(int(steps * strength) >= CREATIVE_STEPS for _, steps, strength in calls)
    assert progress == sorted(progress) and progress[-1] == pytest.approx(1.0)


def test_outpainting_keeps_the_source_and_paints_the_rest(engine):
    from inference.outpaint import make_square, pan, zoom_out

    source = engine.grid(parse("a fox --ar 2:1"), seed=6)[0]
    request = parse("a fox --ar 2:1")
    multiple, limit = engine.preset.multiple, canvas_limit(engine.preset)
    for canvas in (
        zoom_out(source, 2.0, multiple, limit),
        pan(source, "left", multiple, limit),
        make_square(source, multiple, limit),
    ):
        images = engine.outpaint(request, canvas, seed=6)
        assert len(images) == 4 and {i.size for i in images} == {canvas.image.size}
        kept = np.asarray(canvas.mask) == 0
        for image in images:
            assert np.array_equal(np.asarray(image)[kept], np.asarray(canvas.image)[kept])
            painted = np.asarray(image)[~kept].astype(np.float32)
            assert np.abs(painted - np.asarray(canvas.image)[~kept]).mean() > 1


@pytest.fixture(scope="module")
def xl_engine(tiny_models_dir):
    engine = Engine("tiny-xl", tiny_models_dir)
    engine.load()
    return engine


def test_the_sdxl_family_runs_every_operation_with_pooled_conditioning(xl_engine):
    from diffusers import StableDiffusionXLPipeline

    from inference.outpaint import make_square

    assert isinstance(xl_engine._pipe, StableDiffusionXLPipeline)
    request = parse("a red fox::2 snow::1 --ar 2:1 --no people --chaos 20")
    conditioning = xl_engine._conditioning(request, seed=3)
    assert conditioning["pooled_prompt_embeds"].shape[0] == 4
    grid = xl_engine.grid(request, seed=3)
    assert {image.size for image in grid} == {resolution(xl_engine.preset, (2, 1))}
    again = xl_engine.grid(request, seed=3)
    assert all(np.array_equal(a, b) for a, b in zip(_arrays(grid), _arrays(again), strict=True))
    varied = xl_engine.vary(request, grid[0], seed=4, strength=VARY_STRONG)
    assert {v.size for v in varied} == {grid[0].size}
    upscaled = xl_engine.upscale(request, grid[0], seed=5, creative=True)
    assert upscaled.size == (2 * grid[0].width, 2 * grid[0].height)
    squared = xl_engine.outpaint(
        request, make_square(grid[0], 16, canvas_limit(xl_engine.preset)), seed=6
    )
    assert {s.width for s in squared} == {grid[0].width} == {s.height for s in squared}


def test_the_sdxl_family_takes_a_style_reference_through_its_adapter(xl_engine):
    from PIL import Image

    from inference.references import References

    plain = xl_engine.grid(parse("a fox"), seed=2)
    red = References([Image.new("RGB", (64, 64), (200, 30, 30))], [])
    styled = xl_engine.grid(parse("a fox --sref https://x.io/a.png"), seed=2, references=red)
    gap = np.abs(np.asarray(plain[0], np.float32) - np.asarray(styled[0], np.float32)).mean()
    assert gap > 1


def _blend_request(weights):
    return replace(parse("x"), prompts=(WeightedPrompt(""),), blend=weights)


def test_a_blend_mixes_its_images_and_follows_their_weights(engine):
    red, blue = Image.new("RGB", (64, 64), "red"), Image.new("RGB", (64, 64), "blue")
    green = Image.new("RGB", (64, 64), "green")
    even = _blend_request((1.0, 1.0))
    base = _arrays(engine.blend(even, [red, blue], 5))
    assert base[0].shape == (64, 64, 3)
    assert all(
        np.array_equal(a, b)
        for a, b in zip(base, _arrays(engine.blend(even, [red, blue], 5)), strict=True)
    )
    other_image = _arrays(engine.blend(even, [red, green], 5))
    leaning = _arrays(engine.blend(_blend_request((4.0, 1.0)), [red, blue], 5))
    plain = _arrays(engine.grid(even, 5))
    for changed in (other_image, leaning, plain):
        assert np.abs(base[0].astype(float) - changed[0]).mean() > 1.0


def test_a_blend_needs_two_images_with_a_weight_each(engine):
    red = Image.new("RGB", (64, 64), "red")
    with pytest.raises(ValueError, match="2 or more images"):
        engine.blend(_blend_request((1.0,)), [red], 5)
