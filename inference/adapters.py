"""The IP-Adapter of --sref and --cref around one pipeline call (see inference.references).

Blocking (weights, image encoder): from the render thread.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from inference.capabilities import guidance_for
from inference.presets import Preset
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
    spec = preset.ip_adapter
    if spec is None:
        raise ValueError(f"{preset.name} has no IP-Adapter for --sref or --cref")
    source, weight = spec.source, spec.weight_name
    if source == "builtin":
        built = build_tiny_ip_adapter(cache_dir / f"{preset.name}-ip-adapter", pipe.unet)
        source, weight = str(built), IP_ADAPTER_WEIGHTS
    pipe.load_ip_adapter(
        [source, source],
        subfolder=[spec.subfolder, spec.subfolder],
        weight_name=[weight, weight],
        image_encoder_folder=spec.image_encoder,
    )
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
