"""What a member (or a moderator) does to a job itself: cancel it, favourite it, delete it,
read its details."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from db import AuditLog, Job, JobState, MemberJobs
from inference.capabilities import Rendering, rendering
from inference.presets import Preset
from inference.prompt import GenerationRequest, render_prompt
from services.errors import JobUnavailable, NotYourJob
from services.origin import Origin


@dataclass(frozen=True)
class JobDetails:
    """What a finished job was made with: enough to make it again."""

    job: Job
    prompt: str  # the prompt as parsed, every parameter written out
    rendering: Rendering | None  # None: the model is no longer served
    seeds: list[tuple[int, int]]  # (image number, seed)


class JobControls:
    def __init__(self, jobs: MemberJobs, audit: AuditLog, presets: Mapping[str, Preset]) -> None:
        self.jobs = jobs
        self.audit = audit
        self.presets = presets

    async def cancel(self, job_id: int, origin: Origin, reason: str = "") -> Job:
        """Stop a waiting or running job: its owner or a moderator may."""
        job = await self.jobs.get(job_id)
        if job is None:
            raise JobUnavailable("That job no longer exists.")
        if job.user_id != origin.user_id and not origin.moderates(job.guild_id):
            raise NotYourJob()
        if not await self.jobs.cancel(job_id):
            raise JobUnavailable("That job has already finished, so it cannot be cancelled.")
        if origin.user_id != job.user_id:  # a moderator stopped someone's job: keep a record
            await self.audit.record(
                origin.guild_id,
                origin.user_id,
                job.user_id,
                "job_cancelled",
                reason,
                {"job": job_id},
            )
        return job

    async def toggle_favourite(self, job_id: int, origin: Origin) -> bool:
        """Mark or unmark one's own job as a favourite; whether it is one now."""
        job = await self._own(job_id, origin)
        await self.jobs.set_favourite(job.id, not job.favourite)
        return not job.favourite

    async def delete(self, job_id: int, origin: Origin) -> Job:
        """Delete one's own finished job (moderators may delete any); audit records stay."""
        job = await self._own(job_id, origin, moderators_too=True)
        if not await self.jobs.delete(job.id):
            raise JobUnavailable("Only a finished job can be deleted; cancel it first.")
        if origin.user_id != job.user_id:
            await self.audit.record(
                origin.guild_id, origin.user_id, job.user_id, "job_deleted", "", {"job": job.id}
            )
        return job

    async def details(self, job_id: int, origin: Origin) -> JobDetails:
        """A finished job's parameters and seeds. Anyone who can see a public result may
        read them (as in Midjourney); a stealth job's, only its owner and moderators."""
        job = await self.jobs.get(job_id)
        if job is None or job.deleted_at is not None:
            raise JobUnavailable("That job no longer exists.")
        if job.stealth and job.user_id != origin.user_id and not origin.moderates(job.guild_id):
            raise NotYourJob()
        if job.state != JobState.DONE:
            raise JobUnavailable("That job has not finished, so it has no details yet.")
        return job_details(job, self.presets)

    async def _own(self, job_id: int, origin: Origin, moderators_too: bool = False) -> Job:
        job = await self.jobs.get(job_id)
        if job is None or job.deleted_at is not None:
            raise JobUnavailable("That job no longer exists.")
        if job.user_id != origin.user_id and not (
            moderators_too and origin.moderates(job.guild_id)
        ):
            raise NotYourJob()
        return job


def job_details(job: Job, presets: Mapping[str, Preset]) -> JobDetails:
    """What a job was made with: its prompt as typed again, steps and guidance (when its
    model is still served) and each image's seed."""
    request = GenerationRequest.from_json(job.request)
    preset = presets.get(job.model)
    seeds = [(i.index, i.seed) for i in job.images if i.index > 0 and i.seed is not None]
    return JobDetails(
        job,
        render_prompt(request),
        rendering(preset, request) if preset is not None else None,
        seeds,
    )
