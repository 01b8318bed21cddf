"""The buttons on a finished job without Discord: each makes a child job (inference.operations
names them), optionally with an edited prompt (remix) or a chosen zoom (Custom Zoom)."""

from __future__ import annotations

from db import Job, JobState, MemberJobs
from inference.operations import BY_KEY, KINDS, OUTPAINT_ACTIONS, UPSCALE_ACTIONS, JobAction
from inference.outpaint import (
    MAX_ZOOM,
    MIN_ZOOM,
    OutpaintError,
    pan_geometry,
    square_geometry,
    zoom_geometry,
)
from inference.presets import canvas_limit, check_upscale
from inference.prompt import GenerationRequest
from inference.references import job_image_urls
from inference.seeds import random_seed
from services.errors import InvalidParameter, JobUnavailable, NotYourJob
from services.intake import Intake, Placement, record
from services.origin import Origin


class ChildJobs:
    def __init__(self, intake: Intake, jobs: MemberJobs) -> None:
        self.intake = intake
        self.jobs = jobs

    async def pressable(self, parent_id: int, origin: Origin) -> Job:
        """A finished job whose buttons the presser may use (its owner or a moderator)."""
        parent = await self.jobs.get(parent_id)
        if parent is None or parent.deleted_at is not None:
            raise JobUnavailable("That job no longer exists.", hint="Use /imagine to start again.")
        if parent.user_id != origin.user_id and not origin.moderates(parent.guild_id):
            raise NotYourJob()
        if parent.state != JobState.DONE:
            raise JobUnavailable(
                "That job has not finished, so its buttons cannot be used yet.",
                hint="Wait for the images to appear, then press the button again.",
            )
        return parent

    async def remixable(self, key: str, parent_id: int, origin: Origin) -> Job | None:
        """The job to edit in the remix form, when the presser has remix on and the button
        is one that remix applies to; None otherwise."""
        if not BY_KEY[key].remix or not (await self.intake.prefs.get(origin.user_id)).remix:
            return None
        return await self.pressable(parent_id, origin)

    async def child(
        self,
        key: str,
        index: int,
        parent_id: int,
        origin: Origin,
        remix_prompt: str | None = None,
        zoom: float | None = None,
    ) -> Job:
        """A press of button `key` on image `index` of a finished job; with `remix_prompt`,
        with that prompt instead of the original one. Reroll of a zoom, pan or square grid
        does that operation again on the same image."""
        operation = BY_KEY[key]
        action = operation.action
        parent = await self.pressable(parent_id, origin)
        source, source_index = parent, index
        if action == JobAction.REROLL and parent.action in OUTPAINT_ACTIONS:
            action, zoom = JobAction(parent.action), parent.zoom
            source = await self.pressable(parent.parent_id or 0, origin)
            source_index = parent.parent_index or 1
        elif operation.zoom is not None:
            zoom = operation.zoom
        image = next((i for i in source.images if i.index == max(source_index, 1)), None)
        if image is None:
            raise JobUnavailable(f"That job has no image #{source_index}.")
        intake = self.intake
        await intake.check_standing(origin, parent.guild_id)
        prompt, request = parent.prompt, GenerationRequest.from_json(parent.request)
        model = parent.model
        if remix_prompt is not None and remix_prompt.strip() != parent.prompt.strip():
            prompt, request = remix_prompt, await self._remix_request(remix_prompt, origin)
            # A remix may pick another model (--v, --model, --turbo); else the parent's.
            model = intake.choose(request, parent.model, prompt)
            intake.check_supported(model, request, prompt)
        self._check_operation(action, source, (image.width, image.height), zoom, request.aspect)
        limit = await intake.admit(origin, await intake.guilds.rules(origin.guild_id))
        prompt_images: list[str] = []
        if action == JobAction.REROLL and job_image_urls(request):
            prompt_images = await self._reroll_images(parent, request, prompt)
        # An upscale shows an existing image; everything else draws with new seeds.
        seed = None if action == JobAction.UPSCALE else random_seed()
        placement = Placement(
            model,
            parent.stealth,
            source.id,
            None if action == JobAction.REROLL else source_index,
            zoom,
        )
        new = record(origin, 0, prompt, request, action, seed, placement, prompt_images)
        [(job, _)] = await intake.insert([new], JobState.QUEUED, limit)
        return job

    async def _reroll_images(
        self, parent: Job, request: GenerationRequest, prompt: str
    ) -> list[str]:
        """A reroll draws from its parent's stored image prompts; a remix that changed the
        links (or a job from before they were stored) downloads them."""
        urls = job_image_urls(request)
        kept = job_image_urls(GenerationRequest.from_json(parent.request))
        if urls == kept and len(parent.prompt_images) == len(kept):
            return list(parent.prompt_images)
        stored = await self.intake.download(urls, prompt)
        return [stored[url] for url in urls]

    def _check_operation(
        self,
        action: JobAction,
        source: Job,
        size: tuple[int, int],
        zoom: float | None,
        aspect: tuple[int, int],
    ) -> None:
        """Refuse at the click what the worker could not do, saying why."""
        if action in UPSCALE_ACTIONS and source.action in UPSCALE_ACTIONS:
            raise JobUnavailable(
                "This image is already upscaled.", hint="Vary, zoom or pan it instead."
            )
        kind = KINDS[action]
        preset = self.intake.presets.get(source.model)
        if action in UPSCALE_ACTIONS and preset is not None:
            try:
                check_upscale(preset, size, kind.factor)
            except ValueError as exc:
                raise JobUnavailable(str(exc)) from exc
        if kind.canvas == "zoom" and (zoom is None or not MIN_ZOOM <= zoom <= MAX_ZOOM):
            raise JobUnavailable(f"Zoom must be between {MIN_ZOOM} and {MAX_ZOOM}, got {zoom}.")
        if kind.canvas is None:
            return
        if preset is None:
            raise JobUnavailable(f"The model of this job ({source.model}) is no longer served.")
        limit = canvas_limit(preset)
        try:
            if kind.canvas == "zoom":
                zoom_geometry(size, preset.multiple, limit, aspect)
            elif kind.direction is None:
                square_geometry(size, preset.multiple, limit)
            else:
                pan_geometry(size, kind.direction, preset.multiple, limit)
        except OutpaintError as exc:
            raise JobUnavailable(str(exc)) from exc

    async def _remix_request(self, prompt: str, origin: Origin) -> GenerationRequest:
        """An edited prompt from the remix form: one job, parsed and moderated like /imagine."""
        request = self.intake.parse_one(prompt, await self.intake.prefs.get(origin.user_id))
        if request.repeat > 1:
            raise InvalidParameter(
                f"--repeat {request.repeat} cannot be used in a remix, which makes one job; "
                "remove it, or use /imagine.",
                "remix_repeat",
                prompt,
            )
        await self.intake.check_allowed([request], prompt, origin)
        return request
