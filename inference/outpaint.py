"""Canvases for zoom out, pan and make square: where the source goes and what gets painted.

Pure geometry and Pillow, no model: the engine inpaints the masked area of the canvas.
Masks are "L" images, 255 where new content is painted and 0 where the source is kept.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from PIL import Image, ImageFilter

Direction = Literal["left", "right", "up", "down"]
Size = tuple[int, int]
MIN_ZOOM, MAX_ZOOM = 1.0, 2.0
PAN_GROWTH = 0.5  # a pan adds half the image's width (left/right) or height (up/down)


class OutpaintError(ValueError):
    """The operation cannot apply to this image (said in words a user can act on)."""


@dataclass(frozen=True)
class CanvasLimit:
    """The largest canvas a model's operations may make (inference.presets.canvas_limit)."""

    max_side: int
    max_pixels: int

    def check(self, size: Size, what: str, instead: str) -> None:
        """OutpaintError if `size` is past the limit, saying what to do instead."""
        width, height = size
        if max(size) > self.max_side or width * height > self.max_pixels:
            raise OutpaintError(
                f"{what} would make the image {width}x{height}, over this model's limit of "
                f"{self.max_side:,} px a side and {self.max_pixels:,} pixels; {instead}."
            )


@dataclass(frozen=True)
class Canvas:
    """The image to inpaint (source pasted, the rest pre-filled) and its mask."""

    image: Image.Image
    mask: Image.Image


def _snap(side: float, multiple: int) -> int:
    return max(multiple, round(side / multiple) * multiple)


def same_ratio(size: Size, aspect: tuple[int, int], multiple: int) -> bool:
    """Whether `size` already has the `aspect` ratio, give or take rounding to `multiple`."""
    w, h = aspect
    return abs(size[0] * h - size[1] * w) <= max(w, h) * multiple


def zoom_geometry(
    size: Size, multiple: int, limit: CanvasLimit, aspect: tuple[int, int] | None = None
) -> Size:
    """The canvas of a zoom out: the source's size, or its pixel area at another `aspect`;
    OutpaintError past the limit."""
    width, height = float(size[0]), float(size[1])
    if aspect is not None and not same_ratio(size, aspect, multiple):
        width = math.sqrt(size[0] * size[1] * aspect[0] / aspect[1])
        height = width * aspect[1] / aspect[0]
    canvas: Size = (_snap(width, multiple), _snap(height, multiple))
    limit.check(canvas, "Zooming out at that aspect ratio", "use a ratio nearer the image's")
    return canvas


def zoom_out(
    source: Image.Image,
    factor: float,
    multiple: int,
    limit: CanvasLimit,
    aspect: tuple[int, int] | None = None,
) -> Canvas:
    """The camera pulls back: the source shrunk by `factor` in the middle of a canvas of its
    own size (or of its pixel area at another `aspect`, e.g. from Custom Zoom's prompt, with
    the source first fitted inside it), and the rest painted."""
    if not MIN_ZOOM <= factor <= MAX_ZOOM:
        raise OutpaintError(f"zoom must be between {MIN_ZOOM} and {MAX_ZOOM}, got {factor}")
    size = zoom_geometry(source.size, multiple, limit, aspect)
    scale = min(size[0] / source.width, size[1] / source.height) / factor  # fit, then pull back
    inner = (max(1, round(source.width * scale)), max(1, round(source.height * scale)))
    left, top = (size[0] - inner[0]) // 2, (size[1] - inner[1]) // 2
    return _canvas(source.resize(inner, Image.Resampling.LANCZOS), size, (left, top))


def pan_geometry(
    size: Size, direction: Direction, multiple: int, limit: CanvasLimit
) -> tuple[Size, Size]:
    """(canvas size, where the source goes) for a pan; OutpaintError past the limit."""
    width, height = size
    if direction in ("left", "right"):
        width = _snap(width * (1 + PAN_GROWTH), multiple)
    else:
        height = _snap(height * (1 + PAN_GROWTH), multiple)
    limit.check((width, height), "Panning", "use Zoom Out to see more around it instead")
    left = width - size[0] if direction == "left" else 0
    top = height - size[1] if direction == "up" else 0
    return (width, height), (left, top)


def square_geometry(size: Size, multiple: int, limit: CanvasLimit) -> tuple[Size, Size]:
    """(canvas size, where the source goes) for make square; OutpaintError if square or
    past the limit."""
    if size[0] == size[1]:
        raise OutpaintError("This image is already square.")
    side = _snap(max(size), multiple)
    limit.check((side, side), "Making it square", "upscale or vary it instead")
    return (side, side), ((side - size[0]) // 2, (side - size[1]) // 2)


def pan(source: Image.Image, direction: Direction, multiple: int, limit: CanvasLimit) -> Canvas:
    """The source kept at full size, with new content added on the `direction` side."""
    return _canvas(source, *pan_geometry(source.size, direction, multiple, limit))


def make_square(source: Image.Image, multiple: int, limit: CanvasLimit) -> Canvas:
    """The shorter side extended to match the longer one, the source in the middle."""
    return _canvas(source, *square_geometry(source.size, multiple, limit))


def _canvas(source: Image.Image, size: Size, at: Size) -> Canvas:
    """Paste `source` at `at` on a canvas pre-filled with a blurred stretch of the source (a
    better start for the new area than flat grey), and mask everything outside it."""
    fill = source.convert("RGB").resize(size, Image.Resampling.BILINEAR)
    image = fill.filter(ImageFilter.GaussianBlur(max(size) / 16))
    image.paste(source.convert("RGB"), at)
    mask = Image.new("L", size, 255)
    mask.paste(0, (at[0], at[1], at[0] + source.width, at[1] + source.height))
    return Canvas(image, mask)


def region(source: Image.Image, mask: Image.Image, multiple: int, limit: CanvasLimit) -> Canvas:
    """Vary (Region): the source and the member's painted mask (white: redraw), at the
    source's size, or shrunk to fit the model's canvas limit, both sides a multiple of
    `multiple`. The mask is made hard (painted or not) and must paint something."""
    width, height = source.size
    shrink = min(
        1.0, limit.max_side / max(width, height), math.sqrt(limit.max_pixels / (width * height))
    )
    size = (_snap(width * shrink, multiple), _snap(height * shrink, multiple))
    hard = (
        mask.convert("L")
        .resize(size, Image.Resampling.NEAREST)
        .point(lambda v: 255 if v > 127 else 0)
    )
    if hard.getbbox() is None:
        raise OutpaintError("The mask paints nothing: paint the region to redo, then submit.")
    return Canvas(source.convert("RGB").resize(size, Image.Resampling.LANCZOS), hard)
