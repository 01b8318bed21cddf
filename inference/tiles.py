"""Cutting an image into overlapping tiles and stitching the processed tiles back seamlessly.

Super-resolution and the Creative upscale's refinement work tile by tile, so the memory a
model needs is set by the tile size, never by the image size. Tiles overlap by `overlap`
pixels; each tile after the first is pasted through a mask that fades in linearly across
the overlap on the sides it shares with tiles already pasted (left and top, in raster order),
so neighbouring tiles blend instead of meeting at a seam.

Pure image arithmetic on PIL images: no model, no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image, ImageChops


@dataclass(frozen=True)
class Tile:
    """One tile: its box in the image (left, top, right, bottom) and which of its sides
    overlap a tile pasted before it."""

    box: tuple[int, int, int, int]
    left: bool
    top: bool

    def scaled(self, factor: float) -> Tile:
        left, top, right, bottom = (round(side * factor) for side in self.box)
        return Tile((left, top, right, bottom), self.left, self.top)


def spans(length: int, tile: int, overlap: int) -> list[int]:
    """Start offsets of tiles of `tile` pixels covering `length`, adjacent tiles overlapping
    by at least `overlap`, spread evenly so that the last tile ends at the edge."""
    if tile >= length:
        return [0]
    if not 0 <= overlap < tile:
        raise ValueError(f"the overlap ({overlap}) must be smaller than the tile ({tile})")
    count = math.ceil((length - overlap) / (tile - overlap))
    return [round(i * (length - tile) / (count - 1)) for i in range(count)]


def fitted(length: int, tile: int, overlap: int) -> int:
    """The smallest tile side, at most `tile`, that covers `length` with as few tiles as
    `tile` needs: 512 px in tiles of up to 256 overlapping by 16 takes 3 tiles of 182 px, not
    3 of 256 (which would process 50% more pixels)."""
    if tile >= length:
        return length
    count = math.ceil((length - overlap) / (tile - overlap))
    return math.ceil((length + (count - 1) * overlap) / count)


def plan(size: tuple[int, int], tile: int, overlap: int, fit: bool = False) -> list[Tile]:
    """The tiles of an image of `size` in raster order (a side shorter than `tile` is one
    tile of that side). With `fit`, tiles shrink to cover the image with no more pixels than
    needed (for models that take any size); without, every tile is `tile` a side."""
    width, height = size
    tile_w = fitted(width, tile, overlap) if fit else min(tile, width)
    tile_h = fitted(height, tile, overlap) if fit else min(tile, height)
    return [
        Tile((x, y, x + tile_w, y + tile_h), x > 0, y > 0)
        for y in spans(height, tile_h, overlap)
        for x in spans(width, tile_w, overlap)
    ]


def feather(size: tuple[int, int], overlap: int, left: bool, top: bool) -> Image.Image:
    """The paste mask of a tile: 255 inside, rising linearly from the left and top edges
    across `overlap` pixels on the sides that overlap earlier tiles."""
    width, height = size

    def ramp(length: int, fades: bool) -> list[int]:
        if not fades or overlap <= 0:
            return [255] * length
        return [min(255, round(255 * (i + 1) / (overlap + 1))) for i in range(length)]

    across = Image.new("L", (width, 1))
    across.putdata(ramp(width, left))
    down = Image.new("L", (1, height))
    down.putdata(ramp(height, top))
    return ImageChops.multiply(across.resize(size), down.resize(size))


def process_tiled(
    image: Image.Image,
    work: Callable[[Image.Image], Image.Image],
    tile: int,
    overlap: int,
    factor: float = 1.0,
    progress: Callable[[float], None] | None = None,
    fit: bool = False,
) -> Image.Image:
    """`image` processed tile by tile by `work` (which returns its tile `factor` times as
    large), the results stitched with feathered overlaps into an image `factor` times the
    size. At most one input and one output tile are held besides the result; `fit` as in
    `plan`."""
    size = (round(image.width * factor), round(image.height * factor))
    result = Image.new("RGB", size)
    tiles = plan(image.size, tile, overlap, fit)
    edge = round(overlap * factor)
    for done, piece in enumerate(tiles):
        out = piece.scaled(factor)
        box_size = (out.box[2] - out.box[0], out.box[3] - out.box[1])
        worked = work(image.crop(piece.box)).convert("RGB")
        if worked.size != box_size:
            worked = worked.resize(box_size, Image.Resampling.LANCZOS)
        result.paste(worked, out.box[:2], feather(box_size, edge, out.left, out.top))
        if progress is not None:
            progress((done + 1) / len(tiles))
    return result
