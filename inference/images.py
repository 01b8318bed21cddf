"""Grid composition and image files with their provenance."""

from __future__ import annotations

import io
import struct
import zlib

import fpng
import numpy as np
from PIL import Image

from inference.provenance import XMP_KEY, exif_for, png_chunks, xmp_packet


def compose_grid(images: list[Image.Image]) -> Image.Image:
    """The 2x2 grid, images 1 2 on top and 3 4 below (all images the same size)."""
    width, height = images[0].size
    grid = Image.new("RGB", (2 * width, 2 * height))
    for i, image in enumerate(images[:4]):
        grid.paste(image.convert("RGB"), ((i % 2) * width, (i // 2) * height))
    return grid


def crop_from_grid(grid: Image.Image, index: int) -> Image.Image:
    """Image `index` (1-4) out of a grid made by compose_grid."""
    if not 1 <= index <= 4:
        raise ValueError(f"grid images are numbered 1-4, got {index}")
    width, height = grid.width // 2, grid.height // 2
    left, top = ((index - 1) % 2) * width, ((index - 1) // 2) * height
    return grid.crop((left, top, left + width, top + height))


def encode_png(image: Image.Image, metadata: dict[str, str]) -> bytes:
    """Lossless PNG bytes carrying the parameters and provenance (inference/provenance.py).
    fpng writes the pixels (SIMD, ~20x Pillow's speed); the text chunks go in after the
    header. CPU-heavy: call it off the event loop."""
    pixels = np.ascontiguousarray(np.asarray(image.convert("RGB")))
    return _with_text(fpng.from_ndarray(pixels), png_chunks(metadata))


def _with_text(png: bytes, texts: dict[str, str]) -> bytes:
    """`png` with an iTXt chunk (uncompressed, UTF-8) per entry, right after IHDR."""
    header_end = 8 + 8 + 13 + 4  # signature, then IHDR: length, type, 13 bytes, CRC
    if png[12:16] != b"IHDR":
        raise ValueError("not a PNG: IHDR is not the first chunk")
    chunks = b"".join(
        _chunk(b"iTXt", key.encode("latin-1") + b"\0\0\0\0\0" + value.encode("utf-8"))
        for key, value in texts.items()
    )
    return png[:header_end] + chunks + png[header_end:]


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def fit_upload(data: bytes, limit: int) -> tuple[bytes, str]:
    """Bytes that fit Discord's upload limit: the PNG as it is, else high-quality WebP, else
    JPEG, else the same downscaled step by step. The full-size file stays in the image store.
    CPU-heavy: call it off the event loop."""
    if len(data) <= limit:
        return data, "png"
    with Image.open(io.BytesIO(data)) as opened:
        image = opened.convert("RGB")
        parameters = {k: v for k, v in getattr(opened, "text", {}).items() if k != XMP_KEY}
    # The copy keeps the provenance: XMP with the source type, parameters in EXIF.
    keep = {"xmp": xmp_packet().encode(), "exif": exif_for(parameters)}
    while True:
        for fmt, ext, options in (
            ("WEBP", "webp", {"quality": 90, "method": 0}),
            ("JPEG", "jpg", {"quality": 90}),
        ):
            out = io.BytesIO()
            image.save(out, format=fmt, **options, **keep)
            if out.tell() <= limit:
                return out.getvalue(), ext
        image = image.resize((max(1, image.width * 3 // 4), max(1, image.height * 3 // 4)))
