"""The IP-Adapter around one pipeline call: --sref and --cref (see inference.references), and
/blend's mixed image embedding.

Blocking (weights, image encoder): from the render thread.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from inference.capabilities import guidance_for
from inference.presets import IpAdapter, Preset
from inference.prompt import GenerationRequest
from inference.references import References, character_scale, style_scale
from inference.tiny import IP_ADAPTER_WEIGHTS, build_tiny_ip_adapter


@contextlib.contextmanager
def adapter_inputs(
    pipe: Any,
    preset: Preset,
    cache_dir: Path,
    request: GenerationRequest,
    references: References | None,
    device: str,
    batch: int,
) -> Iterator[dict[str, Any]]:
    """The IP-Adapter inputs for one grid call: the adapter is loaded twice (style and
    character, each at its own scale) and unloaded afterwards, so jobs without references
    render with the plain pipeline."""
    if not references:
        if request.sref or request.cref:  # never a silent no-op
            raise ValueError("the --sref/--cref images of this job were not downloaded")
        yield {}
        return
    spec = _load(pipe, preset, cache_dir, 2)
    try:
        style = style_scale(request.style_weight) if references.style else 0.0
        character = character_scale(request.character_weight) if references.character else 0.0
        # InstantStyle: SDXL's style lives in the second attention of the first up block.
        style_scales: Any = {"up": {"block_0": [0.0, style, 0.0]}} if spec.style_blocks else style
        pipe.set_ip_adapter_scale([style_scales, character])
        either = references.style or references.character
        images = [references.style or either, references.character or either]
        with torch.no_grad():
            embeds = pipe.prepare_ip_adapter_image_embeds(
                images, None, device, batch, guidance_for(preset, request) > 1
            )
        yield {"ip_adapter_image_embeds": embeds}
    finally:
        pipe.unload_ip_adapter()


# /blend: how strongly the blended image embedding steers the grid (the text is empty or
# secondary, so the images carry the content as well as the style).
BLEND_SCALE = 1.0


@contextlib.contextmanager
def blend_inputs(
    pipe: Any,
    preset: Preset,
    cache_dir: Path,
    request: GenerationRequest,
    images: list[Any],
    device: str,
    batch: int,
) -> Iterator[dict[str, Any]]:
    """The IP-Adapter inputs of a /blend grid: each image's embedding through the adapter's
    image encoder, averaged with the request's blend weights (equal when not given), so the
    grid mixes the images' content and style."""
    weights = list(request.blend) or [1.0] * len(images)
    if len(weights) != len(images) or len(images) < 2:
        raise ValueError(f"a blend takes 2 or more images, one weight each ({len(images)} given)")
    _load(pipe, preset, cache_dir, 1)
    try:
        pipe.set_ip_adapter_scale(BLEND_SCALE)
        with torch.no_grad():
            (embeds,) = pipe.prepare_ip_adapter_image_embeds(
                [images], None, device, 1, guidance_for(preset, request) > 1
            )
        # (guidance halves x 1, images, ...) -> one weighted mean, repeated for the batch.
        share = torch.tensor(weights, dtype=embeds.dtype, device=embeds.device)
        share = (share / share.sum()).view(1, -1, *([1] * (embeds.ndim - 2)))
        mixed = (embeds * share).sum(dim=1, keepdim=True)
        halves = mixed.chunk(mixed.shape[0])
        yield {"ip_adapter_image_embeds": [torch.cat([h for h in halves for _ in range(batch)])]}
    finally:
        pipe.unload_ip_adapter()


def _load(pipe: Any, preset: Preset, cache_dir: Path, count: int) -> IpAdapter:
    """Load the preset's IP-Adapter `count` times (one scale each); its description."""
    spec = preset.ip_adapter
    if spec is None:
        raise ValueError(f"{preset.name} has no IP-Adapter for --sref, --cref or /blend")
    source, weight = spec.source, spec.weight_name
    if source == "builtin":
        built = build_tiny_ip_adapter(cache_dir / f"{preset.name}-ip-adapter", pipe.unet)
        source, weight = str(built), IP_ADAPTER_WEIGHTS
    pipe.load_ip_adapter(
        [source] * count,
        subfolder=[spec.subfolder] * count,
        weight_name=[weight] * count,
        image_encoder_folder=spec.image_encoder,
    )
    return spec
