"""Image prompts as img2img: the picture a grid starts from, and how much of it is kept."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageOps

# Each unit of --iw keeps a quarter more of the image: iw 1 -> strength 0.75, iw 3 -> 0.25.
IW_STEP = 0.25
MIN_STRENGTH = 0.05  # img2img needs some denoising to draw anything at all
DEFAULT_IMAGE_WEIGHT = 1.0


def image_prompt_strength(image_weight: float | None) -> float:
    """img2img strength for --iw: 1 - 0.25 * iw in [0.05, 1.0]; iw 0 -> 1.0, where the image
    only colours the starting noise."""
    weight = DEFAULT_IMAGE_WEIGHT if image_weight is None else image_weight
    return min(1.0, max(MIN_STRENGTH, 1.0 - IW_STEP * weight))


def start_image(images: Sequence[Image.Image], size: tuple[int, int]) -> Image.Image:
    """The prompt images, each scaled to cover `size` and centre-cropped, averaged pixel by
    pixel (one image is used as it is)."""
    if not images:
        raise ValueError("an image prompt needs at least one image")
    fitted = [
        np.asarray(ImageOps.fit(image.convert("RGB"), size, Image.Resampling.LANCZOS), np.float32)
        for image in images
    ]
    mean = np.mean(fitted, axis=0)
    return Image.fromarray(np.clip(np.rint(mean), 0, 255).astype(np.uint8), "RGB")
