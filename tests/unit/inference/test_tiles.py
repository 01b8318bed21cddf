"""Tiling: tiles cover the image with the overlap asked for, and stitching is seamless."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from inference.tiles import feather, plan, process_tiled, spans


@given(st.integers(1, 3000), st.integers(16, 512), st.integers(0, 15))
def test_spans_cover_the_length_with_at_least_the_overlap(length, tile, overlap):
    starts = spans(length, tile, overlap)
    size = min(tile, length)
    assert starts[0] == 0 and starts[-1] + size == length
    for a, b in itertools.pairwise(starts):
        assert 0 < b - a <= size - overlap  # no gap, at least `overlap` shared


def test_plan_marks_the_sides_shared_with_earlier_tiles():
    tiles = plan((300, 200), 128, 16)
    assert len(tiles) == 3 * 2
    assert [(t.left, t.top) for t in tiles[:3]] == [(False, False), (True, False), (True, False)]
    assert all(t.top for t in tiles[3:]) and not tiles[3].left
    assert all(t.box[2] - t.box[0] == 128 for t in tiles)


def test_feather_fades_in_only_on_shared_sides():
    mask = np.asarray(feather((32, 32), 8, left=True, top=False))
    assert mask[:, 0].max() < 40 and (mask[:, 8:] == 255).all()
    assert (np.asarray(feather((32, 32), 8, left=False, top=False)) == 255).all()


def test_stitching_tiles_of_the_same_picture_gives_the_picture_back():
    rng = np.random.default_rng(1)
    image = Image.fromarray(rng.integers(0, 256, (90, 130, 3), dtype=np.uint8))
    sizes = []

    def identity(tile):
        sizes.append(tile.size)
        return tile

    stitched = process_tiled(image, identity, tile=48, overlap=8)
    assert len(sizes) > 4 and np.array_equal(np.asarray(stitched), np.asarray(image))


def test_scaled_tiles_land_at_scaled_places():
    rng = np.random.default_rng(2)
    image = Image.fromarray(rng.integers(0, 256, (40, 70, 3), dtype=np.uint8))

    def nearest_2x(tile):
        return tile.resize((tile.width * 2, tile.height * 2), Image.Resampling.NEAREST)

    stitched = process_tiled(image, nearest_2x, tile=32, overlap=8, factor=2)
    assert np.array_equal(np.asarray(stitched), np.asarray(nearest_2x(image)))


@given(st.integers(1, 3000), st.integers(32, 512), st.integers(0, 15))
def test_fitted_tiles_cover_with_no_more_tiles_and_at_most_the_size(length, tile, overlap):
    tiles = plan((length, 8), tile, overlap, fit=True)
    fixed = plan((length, 8), tile, overlap)
    assert len(tiles) == len(fixed)
    side = tiles[0].box[2] - tiles[0].box[0]
    assert side <= min(tile, length) and tiles[-1].box[2] == length
    for a, b in itertools.pairwise(tiles):
        assert a.box[2] - b.box[0] >= overlap or len(tiles) == 1
