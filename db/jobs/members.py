"""The jobs table as the bot sees a member's jobs: made, shown, listed, ended, erased.

Idempotency: a job is keyed by the interaction that asked for it (`<interaction id>:<n>`),
so a retried interaction or button finds its rows instead of queueing them again."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    Integer,
    String,
    cast,
    func,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import tickets
from db.imagestore import PROMPT_IMAGE_FORMAT
from db.jobs.common import (
    ACTIVE_STATES,
    ENDED_STATES,
    NewJob,
    QueueLimitReached,
    fast_time,
    get_job,
    update_job,
)
from db.models import Job, JobImage, JobState, today_start, utcnow


class MemberJobs:
    """What the bot (and the web companion) ask of the jobs table for members: make jobs
    (idempotently, with their dispatch tickets), show them, list their history, cancel,
    favourite and delete them, count their usage."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def create(
        self, new: NewJob, state: JobState = JobState.QUEUED, waiting_limit: int | None = None
    ) -> tuple[Job, bool]:
        """Insert a job; if its idempotency key is taken, return the existing row (False)."""
        created = await self.create_many([new], state, waiting_limit)
        return created[0]

    async def create_many(
        self,
        batch: Sequence[NewJob],
        state: JobState = JobState.QUEUED,
        waiting_limit: int | None = None,
    ) -> list[tuple[Job, bool]]:
        """Insert a batch in one transaction; rows whose key exists are returned as they are.

        With `waiting_limit`, the check and the insert are one atomic step: if the member
        (all of a batch is one member's) already has that many jobs held or queued, nothing
        is inserted and QueueLimitReached is raised. SQLite transactions take the write lock
        at BEGIN (db.session); on PostgreSQL a per-member advisory lock orders them.
        """
        made = [Job(**new.__dict__, state=state, images=[]) for new in batch]
        async with self.sessions() as session:
            try:  # the common case, new keys only, is a single INSERT
                async with session.begin():
                    await _lock_member(session, batch, waiting_limit)
                    session.add_all(made)
                    await session.flush()
                    await _check_limit(session, batch, len(made), waiting_limit)
                    await self._queued(session, made, state)
                return [(job, True) for job in made]
            except IntegrityError:
                pass  # a retried interaction or button: some keys exist already
        return await self._create_missing(batch, state, waiting_limit)

    async def _create_missing(
        self, batch: Sequence[NewJob], state: JobState, waiting_limit: int | None
    ) -> list[tuple[Job, bool]]:
        keys = [new.idempotency_key for new in batch]
        async with self.sessions() as session:
            try:
                async with session.begin():
                    await _lock_member(session, batch, waiting_limit)
                    existing = {
                        job.idempotency_key: job
                        for job in await session.scalars(
                            select(Job).where(Job.idempotency_key.in_(keys))
                        )
                    }
                    made = {
                        new.idempotency_key: Job(**new.__dict__, state=state, images=[])
                        for new in batch
                        if new.idempotency_key not in existing
                    }
                    session.add_all(made.values())
                    if made:  # a retry that makes nothing new is never refused
                        await session.flush()
                        await _check_limit(session, batch, len(made), waiting_limit)
                    await self._queued(session, list(made.values()), state)
            except IntegrityError:
                # Another process inserted the same keys between our read and write.
                return [(await self._by_key(key), False) for key in keys]
        return [(made[key], True) if key in made else (existing[key], False) for key in keys]

    @staticmethod
    async def _queued(session: AsyncSession, made: Sequence[Job], state: JobState) -> None:
        """Dispatch tickets for new jobs that may start (distributed mode; db.tickets)."""
        if state == JobState.QUEUED and made:
            await session.flush()
            await tickets.for_jobs(session, [job.id for job in made])

    async def _by_key(self, key: str) -> Job:
        async with self.sessions() as session:
            job = await session.scalar(select(Job).where(Job.idempotency_key == key))
            assert job is not None
            return job

    async def expire_held(self, user_id: int, created_before: datetime) -> int:
        """Cancel a member's held batches never confirmed since `created_before` (a lost
        Yes / No must not hold their queue forever); how many jobs were cancelled."""
        now = utcnow()
        async with self.sessions() as session, session.begin():
            result = await session.execute(
                update(Job)
                .where(
                    Job.user_id == user_id,
                    Job.state == JobState.HELD,
                    Job.created_at < created_before,
                )
                .values(state=JobState.CANCELLED, finished_at=now, delivered_at=now)
            )
            return int(getattr(result, "rowcount", 0) or 0)

    async def release_held(self, interaction_id: int, user_id: int, queue: bool) -> list[Job]:
        """Queue (confirmed) or cancel (declined) the held jobs of one interaction."""
        async with self.sessions() as session, session.begin():
            jobs = list(
                await session.scalars(
                    select(Job)
                    .where(
                        Job.interaction_id == interaction_id,
                        Job.user_id == user_id,
                        Job.state == JobState.HELD,
                    )
                    .order_by(Job.id)
                )
            )
            for job in jobs:
                job.state = JobState.QUEUED if queue else JobState.CANCELLED
                if not queue:
                    job.finished_at = utcnow()
                    job.delivered_at = utcnow()  # never shown: nothing to deliver
            if queue:
                await tickets.for_jobs(session, [job.id for job in jobs])
            return jobs

    async def get(self, job_id: int) -> Job | None:
        return await get_job(self.sessions, job_id)

    async def cancel(self, job_id: int) -> bool:
        """Cancel a waiting or running job; False if it had already ended."""
        async with self.sessions() as session, session.begin():
            user_id = await session.scalar(
                update(Job)
                .where(Job.id == job_id, Job.state.in_((JobState.HELD, *ACTIVE_STATES)))
                .values(state=JobState.CANCELLED, finished_at=utcnow())
                .returning(Job.user_id)
            )
            if user_id is None:
                return False
            await tickets.after_end(session, user_id)
            return True

    async def active_counts(
        self, user_id: int | None = None, guild_id: int | None = None
    ) -> dict[str, int]:
        """How many of a user's (or a guild's) jobs are held, queued and running."""
        whose = Job.user_id == user_id if guild_id is None else Job.guild_id == guild_id
        async with self.sessions() as session:
            return await _active_counts(session, whose)

    async def for_user(
        self,
        user_id: int,
        limit: int = 25,
        offset: int = 0,
        favourites: bool = False,
        public_in: int | None = None,
    ) -> Sequence[Job]:
        """A user's jobs, newest first (deleted ones never), optionally favourites only or,
        for anyone but the owner, only the public finished ones made in guild `public_in`."""
        conditions = _listing(user_id, favourites, public_in)
        async with self.sessions() as session:
            return (
                await session.scalars(
                    select(Job)
                    .where(*conditions)
                    .order_by(Job.created_at.desc(), Job.id.desc())
                    .offset(offset)
                    .limit(limit)
                )
            ).all()

    async def count_for_user(
        self,
        user_id: int,
        favourites: bool = False,
        public_in: int | None = None,
        up_to: int | None = None,
    ) -> int:
        """How many jobs for_user would list; with `up_to`, counting stops there (a page
        count for someone with 50,000 jobs need not read them all)."""
        listed = select(Job.id).where(*_listing(user_id, favourites, public_in))
        if up_to is not None:
            listed = listed.limit(up_to)
        async with self.sessions() as session:
            return int(
                await session.scalar(select(func.count()).select_from(listed.subquery())) or 0
            )

    async def usage(self, user_id: int, since: datetime) -> tuple[float, dict[str, int]]:
        """GPU seconds used since `since`, and how many jobs are in each active state."""
        async with self.sessions() as session:
            seconds = await session.scalar(
                select(func.coalesce(func.sum(Job.gpu_seconds), 0.0)).where(
                    Job.user_id == user_id, Job.finished_at >= since
                )
            )
        return float(seconds or 0.0), await self.active_counts(user_id)

    async def fast_used(self, user_id: int) -> float:
        """GPU seconds of fast-lane work `user_id` finished today (UTC)."""
        async with self.sessions() as session:
            seconds = await session.scalar(
                select(func.sum(Job.gpu_seconds)).where(
                    Job.user_id == user_id, *fast_time(Job, today_start())
                )
            )
        return float(seconds or 0.0)

    async def set_favourite(self, job_id: int, favourite: bool) -> None:
        await update_job(self.sessions, job_id, favourite=favourite)

    async def delete(self, job_id: int) -> bool:
        """Hide a job from every command at once (its files are purged later)."""
        async with self.sessions() as session, session.begin():
            result = await session.execute(
                update(Job)
                .where(Job.id == job_id, Job.deleted_at.is_(None), Job.state.in_(ENDED_STATES))
                .values(deleted_at=utcnow())
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def erase_all(self, user_id: int) -> int:
        """/privacy delete: stop the member's held, waiting and running jobs, hide every job
        and blank what each kept of them (prompt, request, interaction token), in one step;
        image rows and files go with the deleted-job purge. How many jobs were hidden now."""
        now = utcnow()
        mine = Job.user_id == user_id
        async with self.sessions() as session, session.begin():
            stopped = await session.execute(
                update(Job)
                .where(mine, Job.state.in_((JobState.HELD, *ACTIVE_STATES)))
                .values(state=JobState.CANCELLED, finished_at=now)
            )
            if stopped.rowcount:  # type: ignore[attr-defined]
                await tickets.after_end(session, user_id)
            hidden = await session.execute(
                update(Job).where(mine, Job.deleted_at.is_(None)).values(deleted_at=now)
            )
            await session.execute(
                update(Job).where(mine).values(prompt="", request={}, interaction_token=None)
            )
            return int(hidden.rowcount)  # type: ignore[attr-defined]

    async def purge_deleted(self, deleted_before: datetime) -> list[tuple[str, str]]:
        """Drop the image rows and image prompts of jobs deleted before the cutoff; return
        the files no remaining job uses (content-addressed files can be shared: an upscale
        shows its grid's image, a reroll draws from its parent's image prompts)."""
        async with self.sessions() as session, session.begin():
            expired = (Job.deleted_at.is_not(None), Job.deleted_at < deleted_before)
            doomed = (
                await session.scalars(
                    select(JobImage).join(Job, Job.id == JobImage.job_id).where(*expired)
                )
            ).all()
            files = {(image.sha256, image.format) for image in doomed}
            for image in doomed:
                await session.delete(image)
            with_prompts = (
                await session.scalars(select(Job).where(*expired, _HAS_PROMPT_IMAGES))
            ).all()
            for job in with_prompts:
                files |= {(digest, PROMPT_IMAGE_FORMAT) for digest in job.prompt_images}
                job.prompt_images = []
            await session.flush()
            if not files:
                return []
            shown = await session.execute(
                select(JobImage.sha256, JobImage.format).where(
                    JobImage.sha256.in_([sha for sha, _ in files])
                )
            )
            still_used = {(sha, fmt) for sha, fmt in shown}
            for prompts in await session.scalars(
                select(Job.prompt_images).where(_HAS_PROMPT_IMAGES)
            ):
                still_used |= {(digest, PROMPT_IMAGE_FORMAT) for digest in prompts}
            return sorted(files - still_used)


def _listing(user_id: int, favourites: bool, public_in: int | None) -> list[ColumnElement[bool]]:
    conditions = [Job.user_id == user_id, Job.deleted_at.is_(None)]
    if favourites:
        conditions.append(Job.favourite.is_(True))
    if public_in is not None:
        conditions += [
            Job.guild_id == public_in,
            Job.stealth.is_(False),
            Job.state == JobState.DONE,
        ]
    return conditions


# A job without image prompts has `[]`.
_HAS_PROMPT_IMAGES = cast(Job.prompt_images, String) != "[]"


async def _active_counts(session: AsyncSession, whose: ColumnElement[bool]) -> dict[str, int]:
    """Held, queued and running jobs by state, of the jobs `whose` selects."""
    rows = await session.execute(
        select(Job.state, func.count())
        .where(whose, Job.state.in_((JobState.HELD, *ACTIVE_STATES)))
        .group_by(Job.state)
    )
    return {state: int(count) for state, count in rows.all()}


# The advisory-lock namespace of per-member job creation (PostgreSQL).
_CREATE_LOCK = 0x1B0B


async def _lock_member(
    session: AsyncSession, batch: Sequence[NewJob], waiting_limit: int | None
) -> None:
    """On PostgreSQL, hold the member's creation lock until the transaction ends (SQLite's
    BEGIN IMMEDIATE already serialises every writer)."""
    if waiting_limit is None or not batch or session.get_bind().dialect.name != "postgresql":
        return
    key = batch[0].user_id % 2_147_483_647
    await session.execute(select(func.pg_advisory_xact_lock(_CREATE_LOCK, cast(key, Integer))))


async def _check_limit(
    session: AsyncSession, batch: Sequence[NewJob], added: int, waiting_limit: int | None
) -> None:
    """Raise QueueLimitReached if the member had `waiting_limit` jobs waiting before the
    `added` rows just flushed (the caller's transaction then rolls them back)."""
    if waiting_limit is None or not batch:
        return
    counts = await _active_counts(session, Job.user_id == batch[0].user_id)
    waiting = counts.get(JobState.HELD, 0) + counts.get(JobState.QUEUED, 0) - added
    if waiting >= waiting_limit:
        raise QueueLimitReached(waiting, counts.get(JobState.RUNNING, 0), waiting_limit)
