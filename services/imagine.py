"""/imagine without Discord: a prompt becomes its jobs (one per permutation and repeat), and a
held batch is started or dropped."""

from __future__ import annotations

from db import Job, JobState, MemberJobs
from inference.operations import JobAction
from inference.prompt import CONFIRM_ABOVE, MAX_JOBS, expand
from inference.references import job_image_urls
from inference.seeds import repeat_seed
from services.errors import InvalidParameter, JobUnavailable, NotYourJob
from services.intake import Intake, Placement, record
from services.origin import Origin


class ImagineService:
    def __init__(self, intake: Intake, jobs: MemberJobs) -> None:
        self.intake = intake
        self.jobs = jobs

    async def imagine(
        self, prompt: str, origin: Origin, *, approved: bool = False, numbered_from: int = 0
    ) -> list[Job]:
        """Parse and moderate a prompt, then record its jobs (numbered from `numbered_from`
        within the interaction, when one interaction runs several prompts).

        Raises a UserFacingError if refused. More than CONFIRM_ABOVE jobs are held until the
        member confirms them (see `confirm`); an `approved` appeal runs at once: a moderator
        approved the prompt, so it is not moderated again.
        """
        intake = self.intake
        await intake.check_standing(origin)
        prefs = await intake.prefs.get(origin.user_id)
        requests = intake.parse_all(prompt, prefs)
        models = [intake.model_for(prefs, request, prompt) for request in requests]
        for model, request in zip(models, requests, strict=True):
            intake.check_supported(model, request, prompt)
        if not approved:
            await intake.check_allowed(requests, prompt, origin)
        plan = [
            (text, request, model, repeat_seed(request.seed, k))
            for text, request, model in zip(expand(prompt), requests, models, strict=True)
            for k in range(request.repeat)
        ]
        if len(plan) > MAX_JOBS:
            raise InvalidParameter(
                f"This prompt makes {len(plan)} jobs ({len(requests)} permutations, each "
                f"repeated); the limit is {MAX_JOBS}.",
                "too_many_jobs",
                prompt,
            )
        rules = await intake.guilds.rules(origin.guild_id)
        limit = await intake.admit(origin, rules)  # before downloading anything
        # Slow (up to the fetch timeout): the bot defers the interaction meanwhile.
        stored = await intake.download([u for r in requests for u in job_image_urls(r)], prompt)
        # The guild may turn stealth off: then every job made here is public.
        stealth = prefs.stealth and rules.allow_stealth
        held = len(plan) > CONFIRM_ABOVE and not approved
        batch = [
            record(
                origin,
                numbered_from + n,
                text,
                request,
                JobAction.IMAGINE,
                seed,
                Placement(model, stealth),
                [stored[url] for url in job_image_urls(request)],
            )
            for n, (text, request, model, seed) in enumerate(plan)
        ]
        created = await intake.insert(batch, JobState.HELD if held else JobState.QUEUED, limit)
        return [job for job, _ in created]

    async def confirm(self, job_id: int, origin: Origin, start: bool) -> list[Job]:
        """Start (or drop) the held batch that job `job_id` belongs to."""
        job = await self.jobs.get(job_id)
        if job is None or job.interaction_id is None:
            raise JobUnavailable("Those jobs no longer exist.", hint="Use /imagine again.")
        if job.user_id != origin.user_id:
            raise NotYourJob()
        await self.intake.expire_held(origin.user_id)  # a Yes after the hold ran out: gone
        released = await self.jobs.release_held(job.interaction_id, origin.user_id, start)
        if not released:
            raise JobUnavailable(
                "Those jobs were already started or cancelled (a batch waits "
                f"{self.intake.held_for.total_seconds() / 60:g} minutes for its Yes).",
                hint="Use /imagine again.",
            )
        return released
