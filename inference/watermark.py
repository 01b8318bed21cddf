"""Optional invisible watermark: the job id hidden in the picture itself, so an image still
says it was made here after its metadata was stripped (provenance.py writes the metadata).

Uses the `invisible-watermark` package (MIT; `pip install 'imaginebot[watermark]'`), in its
DWT+DCT mode: no model, a few milliseconds per image. The mark survives PNG round trips,
not JPEG or WebP recompression, and needs images larger than 256 px on each side; smaller
ones are stored unmarked.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image

MAGIC = b"ib"
PAYLOAD_BITS = 48  # MAGIC + a 4-byte job id
MIN_SIDE = 257  # the package refuses 256 px and smaller
_METHOD = "dwtDct"


class WatermarkUnavailable(ValueError):
    """The watermark is turned on but its package is not installed."""


def _library() -> Any:
    try:
        import imwatermark
    except ImportError as exc:
        raise WatermarkUnavailable(
            "the invisible watermark needs the optional package: "
            "pip install 'imaginebot[watermark]' (or turn IMAGINEBOT_WATERMARK off)"
        ) from exc
    return imwatermark


def check_available() -> None:
    """Raise WatermarkUnavailable (with how to fix it) unless the package is installed."""
    _library()


def can_mark(image: Image.Image) -> bool:
    return min(image.size) >= MIN_SIDE


def mark(image: Image.Image, job_id: int) -> Image.Image:
    """`image` with `job_id` hidden in it (RGB); too small an image comes back as it is."""
    if not can_mark(image):
        return image
    encoder = _library().WatermarkEncoder()
    encoder.set_watermark("bytes", MAGIC + job_id.to_bytes(4, "big"))
    marked = encoder.encode(_bgr(image), _METHOD)
    return Image.fromarray(np.ascontiguousarray(marked[:, :, ::-1]))


def read_mark(image: Image.Image) -> int | None:
    """The job id hidden in `image`, or None when it carries no mark of ours."""
    if not can_mark(image):
        return None
    payload = _library().WatermarkDecoder("bytes", PAYLOAD_BITS).decode(_bgr(image), _METHOD)
    if not payload.startswith(MAGIC):
        return None
    return int.from_bytes(payload[len(MAGIC) :], "big")


def _bgr(image: Image.Image) -> np.ndarray:
    """The package works on OpenCV's channel order."""
    return np.ascontiguousarray(np.asarray(image.convert("RGB"))[:, :, ::-1])
