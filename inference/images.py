"""Grid composition and image files with their provenance."""

from __future__ import annotations

import hashlib
import io

from PIL import Image
from PIL.PngImagePlugin import PngInfo

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
    """PNG bytes carrying the parameters and provenance (inference/provenance.py).
    CPU-heavy: call it off the event loop."""
    info = PngInfo()
    for key, value in png_chunks(metadata).items():
        info.add_itxt(key, value)
    out = io.BytesIO()
    image.save(out, format="PNG", pnginfo=info, compress_level=4)
    return out.getvalue()


def image_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


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
