"""Cheap previews of a render in progress: latents to RGB by a fixed linear map, no VAE.

The VAE decoder is most of a second on a GPU at full size; a 4x3 matrix per latent pixel
costs microseconds and shows the layout and colours forming, which is what a progress
preview is for. The matrices are least-squares fits of each VAE family's decoder output
against its latents, as published by the community (SD 1.x: keturn, 2022; SDXL: a later
fit with a bias term). They apply to the latents diffusers passes to the step callback.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from PIL import Image

PREVIEW_SIDE = 256  # the longer side of a preview, in pixels
PREVIEW_QUALITY = 80  # JPEG: at most about 40 KB at 256 px (noise), a few milliseconds


@dataclass(frozen=True)
class LatentPalette:
    """Latent channels -> RGB in [-1, 1]: rgb = latent @ factors + bias."""

    name: str
    factors: tuple[tuple[float, float, float], ...]  # one row per latent channel
    bias: tuple[float, float, float] = (0.0, 0.0, 0.0)

    @property
    def channels(self) -> int:
        return len(self.factors)


SD_PALETTE = LatentPalette(
    "sd",
    (
        (0.298, 0.207, 0.208),
        (0.187, 0.286, 0.173),
        (-0.158, 0.189, 0.264),
        (-0.184, -0.271, -0.473),
    ),
)
SDXL_PALETTE = LatentPalette(
    "sdxl",
    (
        (0.3651, 0.4232, 0.4341),
        (-0.2533, -0.0042, 0.1068),
        (0.1076, 0.1111, -0.0362),
        (-0.3165, -0.2492, -0.2188),
    ),
    (0.1084, -0.0175, -0.0011),
)


def palette_for(pipe: Any) -> LatentPalette | None:
    """The palette for a loaded pipeline's latents; None where no linear map is known (Flux's
    16 packed channels): such renders report progress without a preview."""
    vae = getattr(pipe, "vae", None)
    if getattr(pipe, "unet", None) is None or vae is None:
        return None
    if getattr(vae.config, "latent_channels", None) != 4:
        return None
    # SDXL-family pipelines carry a second text encoder; their VAE has another latent space.
    return SDXL_PALETTE if hasattr(pipe, "text_encoder_2") else SD_PALETTE


def latent_preview(
    latents: torch.Tensor, palette: LatentPalette, max_side: int = PREVIEW_SIDE
) -> Image.Image:
    """An RGB image of a batch of latents (batch, channels, h, w): one image for one latent,
    else two columns (the 2x2 grid for four), scaled so its longer side is `max_side`."""
    if latents.ndim != 4 or latents.shape[1] != palette.channels:
        raise ValueError(
            f"expected latents of shape (batch, {palette.channels}, h, w), "
            f"got {tuple(latents.shape)}"
        )
    values = latents.detach().to("cpu", torch.float32).numpy()
    factors = np.asarray(palette.factors, dtype=np.float32)
    bias = np.asarray(palette.bias, dtype=np.float32)
    rgb = np.einsum("bchw,cr->bhwr", values, factors) + bias
    pixels = np.round((np.clip(rgb, -1.0, 1.0) + 1.0) * 127.5).astype(np.uint8)
    batch, height, width, _ = pixels.shape
    columns = 1 if batch == 1 else 2
    rows = math.ceil(batch / columns)
    grid = np.zeros((rows * height, columns * width, 3), dtype=np.uint8)
    for i, image in enumerate(pixels):
        row, column = divmod(i, columns)
        grid[row * height : (row + 1) * height, column * width : (column + 1) * width] = image
    preview = Image.fromarray(grid, "RGB")
    scale = max_side / max(preview.size)
    size = (max(1, round(preview.width * scale)), max(1, round(preview.height * scale)))
    return preview.resize(size, Image.Resampling.BILINEAR)


def encode_preview(image: Image.Image) -> bytes:
    """JPEG bytes of a preview (small, fast, shown inline by Discord)."""
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=PREVIEW_QUALITY)
    return out.getvalue()
