"""/blend without Discord: 2-5 images become one grid that mixes their content and style.

The images are image prompts (fetched and stored under the same rules, screened by the
worker's image filter before use) blended through the model's IP-Adapter with equal weights
(inference.adapters.blend_inputs); the grid has the usual buttons, and a reroll blends again.
"""

from __future__ import annotations

from collections.abc import Sequence

from db import Job
from inference.operations import JobAction
from inference.prompt import GenerationRequest, WeightedPrompt
from services.errors import InvalidParameter
from services.intake import Intake
from services.origin import Origin

MIN_IMAGES, MAX_IMAGES = 2, 5
# Midjourney's /blend dimensions: the aspect ratio of the grid.
DIMENSIONS = {"square": (1, 1), "portrait": (2, 3), "landscape": (3, 2)}


class BlendService:
    def __init__(self, intake: Intake) -> None:
        self.intake = intake

    async def blend(self, image_urls: Sequence[str], dimensions: str, origin: Origin) -> Job:
        """A /blend job of the images at `image_urls`, its grid `dimensions` (DIMENSIONS)."""
        shown = " ".join(image_urls)
        if not MIN_IMAGES <= len(image_urls) <= MAX_IMAGES:
            raise InvalidParameter(
                f"/blend takes {MIN_IMAGES} to {MAX_IMAGES} images; {len(image_urls)} given.",
                "blend_count",
                shown,
            )
        if dimensions not in DIMENSIONS:
            raise InvalidParameter(
                f"Dimensions {dimensions!r} are not one of {', '.join(DIMENSIONS)}.",
                "blend_dimensions",
                shown,
            )
        intake = self.intake
        prefs = await intake.prefs.get(origin.user_id)
        request = GenerationRequest(
            (WeightedPrompt(""),),
            aspect=DIMENSIONS[dimensions],
            image_prompts=tuple(image_urls),
            blend=(1.0,) * len(image_urls),
        )
        model = intake.model_for(prefs, request, shown)
        if intake.presets[model].ip_adapter is None:
            able = [name for name, preset in intake.presets.items() if preset.ip_adapter]
            raise InvalidParameter(
                f"The model {model} cannot blend images (it has no IP-Adapter). "
                + (
                    f"Pick one that can in /settings: {', '.join(able)}."
                    if able
                    else "None of this bot's models can; its owner can add an IP-Adapter "
                    "to a preset (docs/inference.md)."
                ),
                "blend_unsupported",
                shown,
            )
        return await intake.single(origin, shown, request, JobAction.BLEND, model)
