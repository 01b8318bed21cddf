"""What every new job passes through: the member's defaults, the model's capabilities, their
standing, moderation, their queue limit and the image prompt downloads; then its record.

/imagine (services.imagine) and the buttons on a result (services.children) take their jobs
through the same steps, so a check added here holds on every path that creates a job.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

import moderation
from db import (
    AuditLog,
    GuildRepository,
    GuildRules,
    Job,
    JobState,
    MemberJobs,
    NewJob,
    Prefs,
    PrefsRepository,
    QueueLimitReached,
    TermRepository,
    within_deployment,
)
from db.models import utcnow
from inference.capabilities import Unsupported, check, choose_model, fit
from inference.operations import JobAction
from inference.presets import Preset
from inference.prompt import GenerationRequest, PromptDefaults, PromptError, parse, parse_jobs
from moderation.semantic import SemanticCheck
from services.errors import BannedPrompt, InvalidParameter, QueueFull
from services.health import count_decision
from services.image_fetch import ImageFetcher, ImageFetchError
from services.origin import Origin
from services.policy import guild_policy, moderate_prompt, verdict_for
from services.standing import StandingCheck
from services.strikes import BLOCKED, BlockStrikes

# How long a batch waiting for its Yes / No (over CONFIRM_ABOVE jobs) holds the queue.
HELD_FOR_S = 600.0


@dataclass(frozen=True)
class Placement:
    """Where a new job is recorded, besides its origin: a child's parent and image, the
    model it renders with and whether only its owner may see it."""

    model: str
    stealth: bool
    parent_id: int | None = None
    parent_index: int | None = None
    zoom: float | None = None


class Intake:
    def __init__(
        self,
        jobs: MemberJobs,
        standing: StandingCheck,
        audit: AuditLog,
        prefs: PrefsRepository,
        guilds: GuildRepository,
        terms: TermRepository,
        presets: Mapping[str, Preset],
        max_queued_jobs: int,
        policy: moderation.Policy | None = None,
        semantic: SemanticCheck | None = None,
        images: ImageFetcher | None = None,
        held_for_s: float = HELD_FOR_S,
        strikes: BlockStrikes | None = None,
    ) -> None:
        self.jobs = jobs
        self.standing = standing
        self.audit = audit
        self.prefs = prefs
        self.guilds = guilds
        self.terms = terms
        self.presets = presets  # the presets offered; the first is the default
        self.models = list(presets)
        self.max_queued_jobs = max_queued_jobs
        self.policy = policy
        self.semantic = semantic
        self.images = images  # downloads image prompts; None: image prompts are refused
        self.held_for = timedelta(seconds=held_for_s)
        self.strikes = strikes  # repeated blocks become strikes; None: they never do

    def parse_all(self, prompt: str, prefs: Prefs) -> list[GenerationRequest]:
        """Every job a prompt asks for (permutations), under the member's defaults."""
        try:
            return parse_jobs(prompt, _defaults(prefs))
        except PromptError as exc:
            raise InvalidParameter(exc.message, exc.code, prompt) from exc

    def parse_one(self, prompt: str, prefs: Prefs) -> GenerationRequest:
        try:
            return parse(prompt, _defaults(prefs))
        except PromptError as exc:
            raise InvalidParameter(exc.message, exc.code, prompt) from exc

    def model_for(self, prefs: Prefs, request: GenerationRequest, prompt: str) -> str:
        """The model a request renders with: the one its --v, --niji, --model or --turbo
        names, else the member's /settings model if this deployment still offers it (their
        choice is never silently replaced), else the default."""
        fallback = self.models[0] if prefs.model is None else prefs.model
        if fallback not in self.models:
            raise InvalidParameter(
                f"Your /settings model {prefs.model!r} is no longer offered here "
                f"(offered: {', '.join(self.models)}); pick one in /settings.",
                "model_unavailable",
                prompt,
            )
        return self.choose(request, fallback, prompt)

    def choose(self, request: GenerationRequest, fallback: str, prompt: str) -> str:
        """`fallback`, or the model the request's own flags pick (inference.capabilities)."""
        try:
            return choose_model(self.presets, request, fallback)
        except Unsupported as exc:
            raise InvalidParameter(exc.message, exc.code, prompt) from exc

    def check_supported(self, model: str, request: GenerationRequest, prompt: str) -> None:
        """Refuse a flag typed in the prompt that the model cannot honour, naming it and the
        models that can (the one place: before moderation and the queue)."""
        preset = self.presets.get(model)
        if preset is None:
            return  # an unserved model is reported where the job is made
        try:
            check(preset, fit(preset, request), self.presets)
        except Unsupported as exc:
            raise InvalidParameter(exc.message, exc.code, prompt) from exc

    async def check_standing(self, origin: Origin, job_guild_id: int | None = None) -> None:
        """Refuse a member banned (or timed out) where they ask, or in the server that owns
        the job they act on (a DM or another server is no way around a ban), and a DM while
        the owner has DMs off."""
        await self.standing.check(origin.user_id, origin.guild_id, job_guild_id)

    async def judge(self, prompt: str, guild_id: int | None) -> moderation.Verdict:
        """What this server's policy and every layer say about a prompt, without running it
        or recording anything (/mod test)."""
        policy = await guild_policy(self.terms, guild_id, self.policy)
        return await asyncio.to_thread(moderate_prompt, prompt, policy, self.semantic)

    async def check_allowed(
        self, requests: Sequence[GenerationRequest], prompt: str, origin: Origin
    ) -> None:
        """Refuse a prompt the content policy blocks (any of its permutations), with an
        audit record the member can appeal."""
        policy = await guild_policy(self.terms, origin.guild_id, self.policy)
        for request in requests:
            verdict = verdict_for(request, policy)
            if verdict.allowed and self.semantic is not None:
                positive = [p.text for p in request.prompts if p.weight > 0]
                paraphrase = await asyncio.to_thread(self.semantic.check, positive)
                verdict = paraphrase or verdict
            count_decision(verdict.allowed, verdict.layer, verdict.category)
            if verdict.allowed:
                continue
            details = {
                "prompt": prompt,
                "category": verdict.category,
                "matched": list(verdict.matched),
                "appealable": verdict.appealable,
                "channel_id": origin.channel_id,
            }
            audit_id = await self.audit.record(
                origin.guild_id, None, origin.user_id, BLOCKED, verdict.reason, details
            )
            strike = None
            if self.strikes is not None:
                strike = await self.strikes.after_block(origin.guild_id, origin.user_id)
            raise BannedPrompt(
                verdict.reason,
                verdict.category,
                verdict.matched,
                audit_id,
                verdict.appealable,
                strike,
            )

    async def admit(self, origin: Origin, rules: GuildRules) -> int:
        """Refuse a member whose queue is full (the guild's limit within the deployment's),
        before any download; the limit, which `insert` checks again atomically."""
        limit = within_deployment(rules.max_queued_jobs, self.max_queued_jobs)
        await self.expire_held(origin.user_id)
        counts = await self.jobs.active_counts(origin.user_id)
        queued = counts.get(JobState.QUEUED, 0) + counts.get(JobState.HELD, 0)
        if queued >= limit:
            raise QueueFull(queued, counts.get(JobState.RUNNING, 0), limit)
        return limit

    async def expire_held(self, user_id: int) -> None:
        """Cancel the member's batches left unconfirmed for longer than `held_for`."""
        await self.jobs.expire_held(user_id, utcnow() - self.held_for)

    async def insert(
        self, batch: Sequence[NewJob], state: JobState, limit: int
    ) -> list[tuple[Job, bool]]:
        """Record new jobs, the member's queue limit checked in the same atomic step (so
        concurrent commands and clicks cannot pass it together)."""
        try:
            return await self.jobs.create_many(batch, state, waiting_limit=limit)
        except QueueLimitReached as full:
            raise QueueFull(full.waiting, full.running, full.limit) from None

    async def single(
        self,
        origin: Origin,
        prompt: str,
        request: GenerationRequest,
        action: JobAction,
        model: str,
        prompt_images: Sequence[str] | None = None,
    ) -> Job:
        """Record one job of a command other than /imagine (/describe, /blend, /shorten),
        after the checks every job passes (standing and queue limit here; the caller has
        moderated its text): `request.image_prompts` are downloaded unless the stored
        `prompt_images` are given."""
        await self.check_standing(origin)
        rules = await self.guilds.rules(origin.guild_id)
        limit = await self.admit(origin, rules)
        if prompt_images is None:
            stored = await self.download(request.image_prompts, prompt)
            prompt_images = [stored[url] for url in request.image_prompts]
        prefs = await self.prefs.get(origin.user_id)
        placement = Placement(model, prefs.stealth and rules.allow_stealth)
        new = record(origin, 0, prompt, request, action, None, placement, prompt_images)
        [(job, _)] = await self.insert([new], JobState.QUEUED, limit)
        return job

    async def download(self, urls: Sequence[str], prompt: str) -> dict[str, str]:
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


def record(
    origin: Origin,
    n: int,
    prompt: str,
    request: GenerationRequest,
    action: JobAction,
    seed: int | None,
    placement: Placement,
    prompt_images: Sequence[str] = (),
) -> NewJob:
    """The row of the `n`-th job `origin` asked for."""
    return NewJob(
        idempotency_key=f"{origin.interaction_id}:{n}",
        user_id=origin.user_id,
        channel_id=origin.channel_id,
        guild_id=origin.guild_id,
        prompt=prompt,
        request=request.to_json(),
        model=placement.model,
        stealth=placement.stealth,
        zoom=placement.zoom,
        action=action,
        interaction_id=origin.interaction_id,
        parent_id=placement.parent_id,
        parent_index=placement.parent_index,
        seed=seed,
        lane=request.lane,
        application_id=origin.application_id,
        interaction_token=origin.interaction_token,
        token_expires_at=origin.reply_expires_at,
        prompt_images=list(prompt_images),
    )


def _defaults(prefs: Prefs) -> PromptDefaults:
    """The member's /settings, /prefer suffix and options, validated (PromptError if stale)."""
    return PromptDefaults(settings=prefs.settings, suffix=prefs.suffix, options=prefs.options)
