"""What the commands and buttons ask for, without Discord: validate, admit, record jobs."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import moderation
from bot.errors import (
    BannedPrompt,
    InvalidParameter,
    JobUnavailable,
    NotYourJob,
    QueueFull,
    UserBanned,
)
from bot.image_fetch import ImageFetcher, ImageFetchError
from bot.moderate import guild_policy, verdict_for
from db import (
    BanRepository,
    Job,
    JobRepository,
    JobState,
    ModerationRepository,
    NewJob,
    Prefs,
    PrefsRepository,
)
from db.jobs import token_expiry
from db.moderation import within_deployment
from inference.operations import KINDS, OUTPAINT_ACTIONS, UPSCALE_ACTIONS, JobAction
from inference.outpaint import (
    MAX_ZOOM,
    MIN_ZOOM,
    OutpaintError,
    pan_geometry,
    square_geometry,
)
from inference.presets import Preset, pixel_limit, unsupported
from inference.prompt import (
    CONFIRM_ABOVE,
    MAX_JOBS,
    GenerationRequest,
    PromptDefaults,
    PromptError,
    expand,
    parse,
    parse_jobs,
)
from inference.seeds import SEED_SPACE, random_seed
from moderation.semantic import SemanticCheck


@dataclass(frozen=True)
class Origin:
    """Who asked, where, and through which interaction (for idempotency and replies)."""

    user_id: int
    channel_id: int
    guild_id: int | None
    interaction_id: int
    application_id: int
    interaction_token: str
    created_at: datetime
    is_moderator: bool = False


# Button actions: what a click on a job makes.
CHILD_ACTIONS = {
    "u": JobAction.UPSCALE,
    "v": JobAction.VARIATION,
    "r": JobAction.REROLL,
    "vs": JobAction.VARY_SUBTLE,
    "vt": JobAction.VARY_STRONG,
    "us": JobAction.UPSCALE_SUBTLE,
    "uc": JobAction.UPSCALE_CREATIVE,
    "z2": JobAction.ZOOM_OUT,
    "zh": JobAction.ZOOM_OUT,
    "zc": JobAction.ZOOM_OUT,  # Custom Zoom: the factor comes from its form
    "pl": JobAction.PAN_LEFT,
    "pr": JobAction.PAN_RIGHT,
    "pu": JobAction.PAN_UP,
    "pd": JobAction.PAN_DOWN,
    "sq": JobAction.MAKE_SQUARE,
}
ZOOMS = {"z2": 2.0, "zh": 1.5}
# The buttons that open the remix form for a user with remix on.
REMIX_ACTIONS = frozenset({"v", "r", "vs", "vt", "z2", "zh", "pl", "pr", "pu", "pd", "sq"})


class JobService:
    def __init__(
        self,
        jobs: JobRepository,
        bans: BanRepository,
        prefs: PrefsRepository,
        mod: ModerationRepository,
        presets: Mapping[str, Preset],
        max_queued_jobs: int,
        policy: moderation.Policy | None = None,
        semantic: SemanticCheck | None = None,
        images: ImageFetcher | None = None,
    ) -> None:
        self.jobs = jobs
        self.bans = bans
        self.prefs = prefs
        self.mod = mod
        self.presets = presets  # the presets offered; the first is the default
        self.models = list(presets)
        self.max_queued_jobs = max_queued_jobs
        self.policy = policy
        self.semantic = semantic
        self.images = images  # downloads image prompts; None: image prompts are refused

    async def imagine(self, prompt: str, origin: Origin, *, approved: bool = False) -> list[Job]:
        """Parse and moderate a prompt, then record its jobs (one per permutation and repeat).

        Raises a UserFacingError if refused. More than CONFIRM_ABOVE jobs are held until the
        user confirms them (see `confirm`); an `approved` appeal runs at once, unchecked.
        """
        prefs = await self.prefs.get(origin.user_id)
        try:
            requests = parse_jobs(prompt, _defaults(prefs))
        except PromptError as exc:
            raise InvalidParameter(exc.message, exc.code, prompt) from exc
        model = self._model_for(prefs, prompt)
        self._check_supported(model, requests, prompt)
        await self._check_ban(origin)
        if not approved:  # a moderator approved this prompt on appeal: it is not checked again
            policy = await guild_policy(self.mod, origin.guild_id, self.policy)
            for request in requests:  # blocked if any permutation is blocked
                await self._check_blocked(request, prompt, origin, policy)
        plan = [
            (text, request, _repeat_seed(request.seed, k))
            for text, request in zip(expand(prompt), requests, strict=True)
            for k in range(request.repeat)
        ]
        if len(plan) > MAX_JOBS:
            raise InvalidParameter(
                f"This prompt makes {len(plan)} jobs ({len(requests)} permutations, each "
                f"repeated); the limit is {MAX_JOBS}.",
                "too_many_jobs",
                prompt,
            )
        rules = await self.mod.rules(origin.guild_id)
        await self._admit(origin, rules.max_queued_jobs)  # before downloading anything
        # Slow (up to the fetch timeout), so /imagine runs this inside within_deadline.
        stored = await self._download([u for r in requests for u in r.image_prompts], prompt)
        # The guild may turn stealth off: then every job made here is public.
        stealth = prefs.stealth and rules.allow_stealth
        held = len(plan) > CONFIRM_ABOVE and not approved
        state = JobState.HELD if held else JobState.QUEUED
        batch = [
            self._new_job(
                origin,
                n,
                text,
                request,
                JobAction.IMAGINE,
                seed,
                model=model,
                stealth=stealth,
                prompt_images=[stored[url] for url in request.image_prompts],
            )
            for n, (text, request, seed) in enumerate(plan)
        ]
        return [job for job, _ in await self.jobs.create_many(batch, state)]

    def _model_for(self, prefs: Prefs, prompt: str) -> str:
        """The user's /settings model if this deployment still offers it, else an error that
        says so (their choice is never silently replaced)."""
        if prefs.model is None:
            return self.models[0]
        if prefs.model not in self.models:
            raise InvalidParameter(
                f"Your /settings model {prefs.model!r} is no longer offered here "
                f"(offered: {', '.join(self.models)}); pick one in /settings.",
                "model_unavailable",
                prompt,
            )
        return prefs.model

    def _check_supported(
        self, model: str, requests: Sequence[GenerationRequest], prompt: str
    ) -> None:
        """Refuse flags the model cannot honour (Flux: --no, --tile), naming them."""
        preset = self.presets.get(model)
        if preset is None:
            return  # an unserved model is reported where the job is made
        for request in requests:
            refusal = unsupported(preset, request)
            if refusal:
                raise InvalidParameter(refusal, "unsupported_by_model", prompt)

    async def confirm(self, job_id: int, origin: Origin, start: bool) -> list[Job]:
        """Start (or drop) the held batch that job `job_id` belongs to."""
        job = await self.jobs.get(job_id)
        if job is None or job.interaction_id is None:
            raise JobUnavailable("Those jobs no longer exist.", hint="Use /imagine again.")
        if job.user_id != origin.user_id:
            raise NotYourJob()
        released = await self.jobs.release_held(job.interaction_id, origin.user_id, start)
        if not released:
            raise JobUnavailable("Those jobs were already started or cancelled.")
        return released

    async def remixable(self, action_key: str, parent_id: int, origin: Origin) -> Job | None:
        """The job to edit in the remix form, when the presser has remix on and the button
        is one that remix applies to (variations and reroll); None otherwise."""
        if action_key not in REMIX_ACTIONS or not (await self.prefs.get(origin.user_id)).remix:
            return None
        return await self.pressable(parent_id, origin)

    async def child(
        self,
        action_key: str,
        index: int,
        parent_id: int,
        origin: Origin,
        remix_prompt: str | None = None,
        zoom: float | None = None,
    ) -> Job:
        """A button press on a finished job: upscale, vary, reroll, zoom, pan or square it;
        with `remix_prompt`, with that prompt instead of the original one. Reroll of a zoom,
        pan or square grid does that operation again on the same image."""
        action = CHILD_ACTIONS[action_key]
        parent = await self.pressable(parent_id, origin)
        source, source_index = parent, index
        if action == JobAction.REROLL and parent.action in OUTPAINT_ACTIONS:
            action, zoom = JobAction(parent.action), parent.zoom
            source = await self.pressable(parent.parent_id or 0, origin)
            source_index = parent.parent_index or 1
        elif action == JobAction.ZOOM_OUT:
            zoom = ZOOMS.get(action_key, zoom)
        image = next((i for i in source.images if i.index == max(source_index, 1)), None)
        if image is None:
            raise JobUnavailable(f"That job has no image #{source_index}.")
        self._check_operation(action, source, image.width, image.height, zoom)
        await self._check_ban(origin)
        prompt, request = parent.prompt, GenerationRequest.from_json(parent.request)
        if remix_prompt is not None and remix_prompt.strip() != parent.prompt.strip():
            prompt, request = remix_prompt, await self._remix_request(remix_prompt, origin)
            self._check_supported(parent.model, [request], prompt)
        await self._admit(origin, (await self.mod.rules(origin.guild_id)).max_queued_jobs)
        prompt_images: list[str] = []
        if action == JobAction.REROLL and request.image_prompts:
            prompt_images = await self._reroll_images(parent, request, prompt)
        # An upscale shows an existing image; everything else draws with new seeds.
        seed = None if action == JobAction.UPSCALE else random_seed()
        new = self._new_job(
            origin,
            0,
            prompt,
            request,
            action,
            seed,
            source.id,
            None if action == JobAction.REROLL else source_index,
            model=parent.model,
            stealth=parent.stealth,
            zoom=zoom,
            prompt_images=prompt_images,
        )
        job, _ = await self.jobs.create(new)
        return job

    async def _reroll_images(
        self, parent: Job, request: GenerationRequest, prompt: str
    ) -> list[str]:
        """A reroll draws from its parent's stored image prompts; a remix that changed the
        links (or a job from before they were stored) downloads them."""
        kept = GenerationRequest.from_json(parent.request).image_prompts
        if request.image_prompts == kept and len(parent.prompt_images) == len(kept):
            return list(parent.prompt_images)
        stored = await self._download(request.image_prompts, prompt)
        return [stored[url] for url in request.image_prompts]

    async def _download(self, urls: list[str], prompt: str) -> dict[str, str]:
        """The stored file of each distinct image prompt link, each downloaded once; a link
        that cannot be used is an InvalidParameter naming it."""
        if not urls:
            return {}
        if self.images is None:
            raise InvalidParameter(
                "Image prompts are not available on this bot; remove the image links.",
                "image_prompts_off",
                prompt,
            )
        try:
            return await self.images.store_all(urls)
        except ImageFetchError as exc:
            raise InvalidParameter(exc.message, exc.code, prompt) from exc

    def _check_operation(
        self, action: JobAction, source: Job, width: int, height: int, zoom: float | None
    ) -> None:
        """Refuse at the click what the worker could not do, saying why."""
        if action in UPSCALE_ACTIONS and source.action in UPSCALE_ACTIONS:
            raise JobUnavailable(
                "This image is already upscaled.", hint="Vary, zoom or pan it instead."
            )
        if action == JobAction.ZOOM_OUT and (zoom is None or not MIN_ZOOM <= zoom <= MAX_ZOOM):
            raise JobUnavailable(f"Zoom must be between {MIN_ZOOM} and {MAX_ZOOM}, got {zoom}.")
        direction = KINDS[action].direction
        if direction is None and action != JobAction.MAKE_SQUARE:
            return
        preset = self.presets.get(source.model)
        if preset is None:
            raise JobUnavailable(f"The model of this job ({source.model}) is no longer served.")
        try:
            if action == JobAction.MAKE_SQUARE:
                square_geometry((width, height), preset.multiple)
            else:
                pan_geometry((width, height), direction, preset.multiple, pixel_limit(preset))
        except OutpaintError as exc:
            raise JobUnavailable(str(exc)) from exc

    async def _remix_request(self, prompt: str, origin: Origin) -> GenerationRequest:
        """An edited prompt from the remix form: one job, parsed and moderated like /imagine."""
        try:
            request = parse(prompt, _defaults(await self.prefs.get(origin.user_id)))
        except PromptError as exc:
            raise InvalidParameter(exc.message, exc.code, prompt) from exc
        if request.repeat > 1:
            raise InvalidParameter(
                f"--repeat {request.repeat} cannot be used in a remix, which makes one job; "
                "remove it, or use /imagine.",
                "remix_repeat",
                prompt,
            )
        policy = await guild_policy(self.mod, origin.guild_id, self.policy)
        await self._check_blocked(request, prompt, origin, policy)
        return request

    async def pressable(self, parent_id: int, origin: Origin) -> Job:
        """A finished job whose buttons the presser may use (its owner or a moderator)."""
        parent = await self.jobs.get(parent_id)
        if parent is None:
            raise JobUnavailable("That job no longer exists.", hint="Use /imagine to start again.")
        if parent.user_id != origin.user_id and not origin.is_moderator:
            raise NotYourJob()
        if parent.state != JobState.DONE:
            raise JobUnavailable(
                "That job has not finished, so its buttons cannot be used yet.",
                hint="Wait for the images to appear, then press the button again.",
            )
        return parent

    async def cancel(self, job_id: int, origin: Origin, reason: str = "") -> Job:
        """Stop a waiting or running job: its owner or a moderator may."""
        job = await self.jobs.get(job_id)
        if job is None:
            raise JobUnavailable("That job no longer exists.")
        if job.user_id != origin.user_id and not origin.is_moderator:
            raise NotYourJob()
        if not await self.jobs.cancel(job_id):
            raise JobUnavailable("That job has already finished, so it cannot be cancelled.")
        if origin.user_id != job.user_id:  # a moderator stopped someone's job: keep a record
            await self.bans.record(
                origin.guild_id,
                origin.user_id,
                job.user_id,
                "job_cancelled",
                reason,
                {"job": job_id},
            )
        return job

    async def toggle_favourite(self, job_id: int, origin: Origin) -> bool:
        job = await self._own(job_id, origin)
        await self.jobs.set_favourite(job.id, not job.favourite)
        return not job.favourite

    async def delete(self, job_id: int, origin: Origin) -> Job:
        """Delete one's own finished job (moderators may delete any); audit records stay."""
        job = await self._own(job_id, origin, moderators_too=True)
        if not await self.jobs.delete(job.id):
            raise JobUnavailable("Only a finished job can be deleted; cancel it first.")
        if origin.user_id != job.user_id:
            await self.bans.record(
                origin.guild_id, origin.user_id, job.user_id, "job_deleted", "", {"job": job.id}
            )
        return job

    async def _own(self, job_id: int, origin: Origin, moderators_too: bool = False) -> Job:
        job = await self.jobs.get(job_id)
        if job is None or job.deleted_at is not None:
            raise JobUnavailable("That job no longer exists.")
        if job.user_id != origin.user_id and not (moderators_too and origin.is_moderator):
            raise NotYourJob()
        return job

    async def _check_blocked(
        self, request: GenerationRequest, prompt: str, origin: Origin, policy: moderation.Policy
    ) -> None:
        verdict = verdict_for(request, policy)
        if verdict.allowed and self.semantic is not None:
            positive = [p.text for p in request.prompts if p.weight > 0]
            verdict = await asyncio.to_thread(self.semantic.check, positive) or verdict
        if verdict.allowed:
            return
        details = {
            "prompt": prompt,
            "category": verdict.category,
            "matched": list(verdict.matched),
            "appealable": verdict.appealable,
            "channel_id": origin.channel_id,
        }
        audit_id = await self.bans.record(
            origin.guild_id, None, origin.user_id, "prompt_blocked", verdict.reason, details
        )
        raise BannedPrompt(
            verdict.reason, verdict.category, verdict.matched, audit_id, verdict.appealable
        )

    async def _check_ban(self, origin: Origin) -> None:
        ban = await self.bans.active_ban(origin.guild_id, origin.user_id)
        if ban is not None:
            raise UserBanned(ban.reason)

    async def _admit(self, origin: Origin, guild_limit: int | None) -> None:
        limit = within_deployment(guild_limit, self.max_queued_jobs)
        counts = await self.jobs.active_counts(origin.user_id)
        queued = counts.get(JobState.QUEUED, 0) + counts.get(JobState.HELD, 0)
        if queued >= limit:
            raise QueueFull(queued, counts.get(JobState.RUNNING, 0), limit)

    def _new_job(
        self,
        origin: Origin,
        n: int,
        prompt: str,
        request: GenerationRequest,
        action: JobAction,
        seed: int | None,
        parent_id: int | None = None,
        parent_index: int | None = None,
        *,
        model: str,
        stealth: bool,
        zoom: float | None = None,
        prompt_images: list[str] | None = None,
    ) -> NewJob:
        return NewJob(
            idempotency_key=f"{origin.interaction_id}:{n}",
            user_id=origin.user_id,
            channel_id=origin.channel_id,
            guild_id=origin.guild_id,
            prompt=prompt,
            request=request.to_json(),
            model=model,
            stealth=stealth,
            zoom=zoom,
            action=action,
            interaction_id=origin.interaction_id,
            parent_id=parent_id,
            parent_index=parent_index,
            seed=seed,
            lane=request.lane,
            application_id=origin.application_id,
            interaction_token=origin.interaction_token,
            token_expires_at=token_expiry(origin.created_at),
            prompt_images=prompt_images or [],
        )


def _defaults(prefs: Prefs) -> PromptDefaults:
    """The user's /settings, /prefer suffix and options, validated (PromptError if stale)."""
    return PromptDefaults(settings=prefs.settings, suffix=prefs.suffix, options=prefs.options)


def _repeat_seed(seed: int | None, k: int) -> int:
    """The k-th `--repeat` of a seeded prompt moves on by a grid's worth of seeds, so repeats
    differ yet stay reproducible; unseeded prompts get a fresh random seed each."""
    if seed is None:
        return random_seed()
    return (seed + 4 * k) % SEED_SPACE
