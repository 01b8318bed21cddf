"""Canvas geometry for zoom out, pan and make square (no model)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from inference.outpaint import CanvasLimit, OutpaintError, make_square, pan, region, zoom_out

ROOMY = CanvasLimit(10_000, 10**8)


def _source(width: int, height: int) -> Image.Image:
    rng = np.random.default_rng(width * 1000 + height)
    return Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8))


def _kept_box(canvas):
    ys, xs = np.nonzero(np.asarray(canvas.mask) == 0)
    return xs.min(), ys.min(), xs.max() + 1, ys.max() + 1


def test_zoom_out_2x_keeps_the_size_and_shrinks_the_source_to_the_middle_half():
    canvas = zoom_out(_source(128, 64), 2.0, 16, ROOMY)
    assert canvas.image.size == canvas.mask.size == (128, 64)
    assert _kept_box(canvas) == (32, 16, 96, 48)


@pytest.mark.parametrize(
    ("direction", "size", "box"),
    [
        ("left", (96, 64), (32, 0, 96, 64)),
        ("right", (96, 64), (0, 0, 64, 64)),
        ("up", (64, 96), (0, 32, 64, 96)),
        ("down", (64, 96), (0, 0, 64, 64)),
    ],
)
def test_pan_adds_half_on_its_side_and_keeps_the_source_pixels(direction, size, box):
    source = _source(64, 64)
    canvas = pan(source, direction, 16, CanvasLimit(10_000, 10_000))
    assert canvas.image.size == size and _kept_box(canvas) == box
    assert np.array_equal(np.asarray(canvas.image.crop(box)), np.asarray(source))


def test_pan_refuses_to_grow_past_the_pixel_limit():
    with pytest.raises(
        OutpaintError, match="96x64, over this model's limit of 10,000 px a side and 4,096 pixels"
    ):
        pan(_source(64, 64), "left", 16, CanvasLimit(10_000, 64 * 64))


def test_make_square_centres_the_source_and_refuses_a_square():
    canvas = make_square(_source(96, 48), 16, ROOMY)
    assert canvas.image.size == (96, 96) and _kept_box(canvas) == (0, 24, 96, 72)
    with pytest.raises(OutpaintError, match="already square"):
        make_square(_source(64, 64), 16, ROOMY)


@pytest.mark.parametrize("factor", [0.9, 2.5])
def test_zoom_outside_one_to_two_is_refused(factor):
    with pytest.raises(OutpaintError, match=r"between 1\.0 and 2\.0"):
        zoom_out(_source(64, 64), factor, 16, ROOMY)


@given(
    st.integers(2, 12).map(lambda n: n * 16),
    st.integers(2, 12).map(lambda n: n * 16),
    st.floats(1.0, 2.0),
)
def test_zoom_canvas_always_paints_a_border_around_a_smaller_source(width, height, factor):
    canvas = zoom_out(_source(width, height), factor, 16, ROOMY)
    mask = np.asarray(canvas.mask)
    assert canvas.image.size == (width, height)
    assert set(np.unique(mask)) <= {0, 255}
    painted = (mask == 255).mean()
    assert painted == pytest.approx(1 - 1 / factor**2, abs=0.15)


def test_zoom_to_another_aspect_keeps_the_area_and_fits_the_source_inside():
    canvas = zoom_out(_source(64, 64), 2.0, 16, ROOMY, aspect=(2, 1))
    assert canvas.image.size == (96, 48)
    left, top, right, bottom = _kept_box(canvas)
    assert (right - left, bottom - top) == (24, 24)  # fitted to the height, then halved
    same = zoom_out(_source(80, 48), 1.5, 16, ROOMY, aspect=(3, 2))  # 80x48 is 3:2 at tiny's size
    assert same.image.size == (80, 48)


def test_square_and_zoom_refuse_canvases_past_the_limit():
    tight = CanvasLimit(96, 96 * 96)
    with pytest.raises(OutpaintError, match="Making it square would make the image 128x128"):
        make_square(_source(128, 32), 16, tight)
    with pytest.raises(OutpaintError, match="over this model's limit of 96 px a side"):
        zoom_out(_source(64, 64), 2.0, 16, tight, aspect=(4, 1))


def test_no_chain_of_pans_and_squares_grows_past_the_preset_limit():
    from inference.outpaint import pan_geometry, square_geometry
    from inference.presets import PRESETS, canvas_limit

    preset = PRESETS["sd-turbo"]
    limit = canvas_limit(preset)
    size, grown = (512, 512), []
    for step in ["left", "square", "up", "right", "square", "left", "left", "square"] * 3:
        try:
            if step == "square":
                size, _ = square_geometry(size, preset.multiple, limit)
            else:
                size, _ = pan_geometry(size, step, preset.multiple, limit)
        except OutpaintError:
            continue
        grown.append(size)
    assert grown and all(max(s) <= 1536 and s[0] * s[1] <= 1536 * 1536 for s in grown)


def test_a_region_mask_is_made_hard_and_must_paint_something():
    source = _source(96, 64)
    soft = Image.new("L", (96, 64), 0)
    soft.paste(200, (10, 10, 40, 30))
    soft.paste(60, (50, 10, 90, 30))  # faint: not painted
    canvas = region(source, soft, 16, ROOMY)
    assert canvas.image.size == canvas.mask.size == (96, 64)
    assert set(canvas.mask.getdata()) == {0, 255}
    assert canvas.mask.getbbox() == (10, 10, 40, 30)
    with pytest.raises(OutpaintError, match="paints nothing"):
        region(source, Image.new("L", (96, 64), 0), 16, ROOMY)


def test_a_region_of_a_large_image_shrinks_to_the_models_limit():
    canvas = region(_source(400, 200), Image.new("L", (400, 200), 255), 16, CanvasLimit(256, 10**8))
    assert canvas.image.size == canvas.mask.size == (256, 128)
