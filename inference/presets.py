"""Model presets: which weights, at what native size, with which defaults.

Resolution buckets: an aspect ratio keeps the preset's native pixel area (side x side) and
rounds both sides to the preset's multiple, e.g. for sd-turbo (512, multiple 64):
1:1 -> 512x512, 3:2 -> 640x448, 16:9 -> 704x384, 2:3 -> 448x640. docs/inference.md has the table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Preset:
    name: str
    model_id: str  # hub id or local path; "" for the locally built tiny model
    native_size: int  # side of the square the model was trained at, in pixels
    multiple: int  # both sides are rounded to this (the UNet needs latents it can halve)
    default_steps: int
    guidance_scale: float
    min_side: int = 64
    supports: frozenset[str] = field(default_factory=lambda: frozenset({"grid", "vary"}))


PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in (
        Preset("sd-turbo", "stabilityai/sd-turbo", 512, 64, 4, 0.0),
        Preset("sdxl-turbo", "stabilityai/sdxl-turbo", 512, 64, 4, 0.0),
        Preset("sd15", "stable-diffusion-v1-5/stable-diffusion-v1-5", 512, 64, 25, 7.0),
        Preset("sdxl", "stabilityai/stable-diffusion-xl-base-1.0", 1024, 64, 30, 6.0),
        # Locally built random miniature: runs the real code in tests, offline, in seconds.
        Preset("tiny", "", 64, 16, 2, 5.0, min_side=32),
    )
}


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        valid = ", ".join(sorted(PRESETS))
        raise ValueError(f"unknown model preset {name!r}; valid presets: {valid}") from None


def resolution(preset: Preset, aspect: tuple[int, int]) -> tuple[int, int]:
    """(width, height) for an aspect ratio at the preset's native pixel area."""
    w, h = aspect
    area = preset.native_size**2
    width = math.sqrt(area * w / h)
    height = width * h / w

    def snap(side: float) -> int:
        return max(preset.min_side, round(side / preset.multiple) * preset.multiple)

    return snap(width), snap(height)
