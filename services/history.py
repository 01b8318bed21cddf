"""A member's own work without Discord: history pages, one job to show again, usage today."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from db import Job, JobState, MemberJobs, Prefs, PrefsRepository
from db.models import today_start
from services.errors import JobUnavailable, NotYourJob, UserFacingError
from services.standing import StandingCheck

PAGE_SIZE = 5
COUNTED = 1000  # jobs counted for the page count; beyond it the count reads "200+"


@dataclass(frozen=True)
class HistoryPage:
    """One page of a member's jobs, as `viewer` may see them: all their own, or another
    member's public finished ones (stealth jobs are never listed to anyone but their owner)."""

    viewer_id: int
    owner_id: int
    favourites: bool
    page: int  # 0-based
    pages: int
    more: bool  # more jobs than were counted: the page count is a lower bound
    jobs: Sequence[Job]

    @property
    def own(self) -> bool:
        return self.owner_id == self.viewer_id

    @property
    def of(self) -> str:
        """ "12", or "200+" for a history longer than was counted."""
        return f"{max(self.pages, self.page + 1)}+" if self.more else str(self.pages)

    @property
    def last(self) -> bool:
        """Whether there is no next page."""
        return len(self.jobs) < PAGE_SIZE or (self.page >= self.pages - 1 and not self.more)


@dataclass(frozen=True)
class Usage:
    """A member's queue and usage today (UTC)."""

    gpu_seconds_today: float
    running: int
    queued: int
    jobs_kept: int
    fast_left_s: float | None  # None: no daily cap on fast time
    prefs: Prefs


class History:
    def __init__(
        self,
        jobs: MemberJobs,
        prefs: PrefsRepository,
        standing: StandingCheck,
        fast_allowance_s: float | None,
    ) -> None:
        self.jobs = jobs
        self.prefs = prefs
        self.standing = standing
        self.fast_allowance_s = fast_allowance_s

    async def page(
        self,
        viewer_id: int,
        page: int,
        favourites: bool,
        owner_id: int | None = None,
        guild_id: int | None = None,
    ) -> HistoryPage:
        """Page `page` (0-based; past the end: the first) of `owner_id`'s jobs (default: the
        viewer's own, from everywhere). Another member's are their public finished jobs made
        in `guild_id`, the server where the viewer asks (never from a DM)."""
        owner = viewer_id if owner_id is None else owner_id
        public_in = None
        if owner != viewer_id:
            if guild_id is None:
                raise UserFacingError(
                    "Another member's history can only be seen in a server you share.",
                    hint="Use /history member: in a server channel.",
                )
            public_in = guild_id
        total = await self.jobs.count_for_user(owner, favourites, public_in, up_to=COUNTED + 1)
        more = total > COUNTED  # "page 1 of 200+": nobody needs the exact count of 50,000 jobs
        pages = max(1, -(-min(total, COUNTED) // PAGE_SIZE))
        page = max(page, 0) if more else min(max(page, 0), pages - 1)
        jobs = await self.jobs.for_user(owner, PAGE_SIZE, page * PAGE_SIZE, favourites, public_in)
        if not jobs and page > 0:  # past the end of a long history
            return await self.page(viewer_id, 0, favourites, owner_id, guild_id)
        return HistoryPage(viewer_id, owner, favourites, page, pages, more, jobs)

    async def owned_job(self, job_id: int, user_id: int, guild_id: int | None = None) -> Job:
        """A job its owner may see and use again (/show posts it with its buttons); another
        member's job is refused, and a deleted one, or another member's stealth job, is as
        unknown as one that never existed. A member banned where they ask or in the job's
        server is refused, and so is a DM while the owner has DMs off."""
        job = await self.jobs.get(job_id)
        hidden = job is not None and job.stealth and job.user_id != user_id
        if job is None or job.deleted_at is not None or hidden:
            raise JobUnavailable(f"There is no job {job_id}.", hint="Find your jobs with /history.")
        if job.user_id != user_id:
            raise NotYourJob()
        await self.standing.check(user_id, guild_id, job.guild_id)
        return job

    async def usage(self, user_id: int) -> Usage:
        seconds, counts = await self.jobs.usage(user_id, today_start())
        return Usage(
            gpu_seconds_today=seconds,
            running=counts.get(JobState.RUNNING, 0),
            queued=counts.get(JobState.QUEUED, 0),
            jobs_kept=await self.jobs.count_for_user(user_id),
            fast_left_s=await self.fast_left(user_id),
            prefs=await self.prefs.get(user_id),
        )

    async def fast_left(self, user_id: int) -> float | None:
        """Fast-lane GPU seconds left today, or None when fast time is not capped."""
        if self.fast_allowance_s is None:
            return None
        return max(0.0, self.fast_allowance_s - await self.jobs.fast_used(user_id))
