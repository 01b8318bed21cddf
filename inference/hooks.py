"""Hooks into a diffusers call: the step callback (progress, previews, cancellation, --stop),
circular padding for --tile, and tiled VAE decoding for big images.

Used by inference.engine from a render thread.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import torch
from PIL import Image

from inference.denoise import stop_latents, stop_point
from inference.preview import LatentPalette, latent_preview

# The VAE decodes in tiles above this many pixels on a side (bounded memory for big images).
VAE_TILING_ABOVE = 1024

# A preview at most this often, and never on the first or last step: cheap, but not free.
PREVIEW_INTERVAL_S = 1.0

Progress = Callable[[float], None]
# Receives a low-resolution preview of the render so far (from the render thread).
PreviewSink = Callable[[Image.Image], None]


class Cancelled(Exception):
    """The job was cancelled; raised from inside the denoising loop within one step."""


def step_callback(
    total_steps: int,
    stop: int,
    progress: Progress | None,
    cancel: threading.Event | None,
    preview: PreviewSink | None = None,
    palette: LatentPalette | None = None,
    predictions: list[torch.Tensor] | None = None,
) -> Callable[..., dict[str, Any]]:
    """Progress, previews, cancellation and --stop: at `stop` % of the steps the loop is
    interrupted, and diffusers decodes the latents this returns: the finished-image
    prediction there (inference.denoise.stop_latents)."""
    last_step, position = stop_point(total_steps, stop)
    previewed: list[float] = []  # when the last preview went out (or the first step ended)

    def on_step_end(pipe: Any, step: int, timestep: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
        if cancel is not None and cancel.is_set():
            raise Cancelled()
        if step + 1 >= last_step:
            pipe._interrupt = True  # diffusers' own early exit: remaining steps are skipped
            if predictions and "latents" in kwargs:
                kwargs["latents"] = stop_latents(predictions, position)
        elif preview is not None and palette is not None and "latents" in kwargs:
            # The clock starts after the first step: a short render shows no preview at all.
            now = time.monotonic()
            if not previewed:
                previewed.append(now)
            elif now - previewed[0] >= PREVIEW_INTERVAL_S:
                previewed[0] = now
                preview(latent_preview(kwargs["latents"], palette))
        if progress is not None:
            progress(min(1.0, (step + 1) / last_step))
        return kwargs

    return on_step_end


@contextlib.contextmanager
def circular_padding(pipe: Any, tile: bool) -> Iterator[None]:
    """--tile: circular padding in every convolution makes the image wrap at its edges.
    The pipeline is shared, so the padding mode is restored afterwards."""
    if not tile:
        yield
        return
    convs = [
        m
        for part in (pipe.unet, pipe.vae)
        for m in part.modules()
        if isinstance(m, torch.nn.Conv2d)
    ]
    before = [m.padding_mode for m in convs]
    for m in convs:
        m.padding_mode = "circular"
    try:
        yield
    finally:
        for m, mode in zip(convs, before, strict=True):
            m.padding_mode = mode


@contextlib.contextmanager
def vae_tiling(vae: Any, largest_side: int) -> Iterator[None]:
    """Decode big images tile by tile (bounded memory); small ones in one pass, unless the
    VAE tiles every decode already (IMAGINEBOT_VAE_TILING): then it is left as it is."""
    if largest_side <= VAE_TILING_ABOVE or getattr(vae, "use_tiling", False):
        yield
        return
    vae.enable_tiling()
    try:
        yield
    finally:
        vae.disable_tiling()
