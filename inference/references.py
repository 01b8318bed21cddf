"""Style and character references (--sref, --cref): their links, their images' strengths.

Both go through an IP-Adapter (diffusers load_ip_adapter), loaded as two adapters so each
has its own scale: --sw 0-1000 sets the style reference's, 0.6 x sqrt(sw / 100) (0 at 0,
0.6 at the default 100, 1.9 at 1000), and --cw 0-100 the character reference's,
0.3 + 0.5 x cw / 100 (0.3 at 0, 0.8 at the default 100). On a preset that declares
`style_blocks` (SDXL), the style adapter acts only on the layers that carry style
(InstantStyle), so --sref takes the look and not the content.

Pure: no torch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from inference.prompt import GenerationRequest


def style_scale(style_weight: int | None) -> float:
    return 0.6 * math.sqrt((100 if style_weight is None else style_weight) / 100)


def character_scale(character_weight: int | None) -> float:
    return 0.3 + 0.5 * (100 if character_weight is None else character_weight) / 100


def job_image_urls(request: GenerationRequest) -> list[str]:
    """Every image a job needs downloaded, in the order its stored files are kept: the image
    prompts, then the style references, then the character references."""
    return [*request.image_prompts, *request.sref, *request.cref]


@dataclass(frozen=True)
class References:
    """A job's downloaded reference images."""

    style: list[Any]
    character: list[Any]

    def __bool__(self) -> bool:
        return bool(self.style or self.character)


def split_images(request: GenerationRequest, images: Sequence[Any]) -> tuple[list[Any], References]:
    """A job's stored images (in `job_image_urls` order) as (image prompts, references)."""
    prompts, styles = len(request.image_prompts), len(request.sref)
    return list(images[:prompts]), References(
        list(images[prompts : prompts + styles]), list(images[prompts + styles :])
    )
