"""Job repository: create, claim, progress, finish and deliver jobs.

Delivery guarantee: a job may be rendered more than once (a worker can die mid-render and
the job is claimed again), but its result is marked delivered exactly once, and the bot
checks that mark before posting, so a retried job never posts twice.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    URL,
    BigInteger,
    ColumnElement,
    Executable,
    Float,
    Integer,
    Select,
    String,
    Subquery,
    and_,
    any_,
    bindparam,
    case,
    cast,
    func,
    insert,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, distinct_on
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import InstrumentedAttribute, aliased, lazyload
from sqlalchemy.orm.attributes import set_committed_value

from db import tickets
from db.fairshare import RELAX, Candidate, effective_lane, queue_order
from db.imagestore import PROMPT_IMAGE_FORMAT
from db.models import GuildSettings, Job, JobImage, JobState, today_start, utcnow

ACTIVE_STATES = (JobState.QUEUED, JobState.RUNNING)
ENDED_STATES = (JobState.DONE, JobState.FAILED, JobState.CANCELLED)
FAIRSHARE_WINDOW = timedelta(hours=1)
# The fairest candidates a claim tries (concurrent claims skip each other's) before it
# looks at the queue again, CLAIM_RETRY_S later.
CLAIM_TRIES = 8
CLAIM_RETRY_S = 0.05
# The place JobRepository.queue gives a job whose guild's queue moderators paused.
PAUSED = 0

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NewJob:
    """What the bot knows when a user asks for a job."""

    idempotency_key: str
    user_id: int
    channel_id: int
    guild_id: int | None
    prompt: str
    request: dict[str, Any]
    model: str
    action: str
    interaction_id: int | None = None
    parent_id: int | None = None
    parent_index: int | None = None
    zoom: float | None = None
    seed: int | None = None
    lane: str | None = None
    application_id: int | None = None
    interaction_token: str | None = None
    token_expires_at: datetime | None = None
    stealth: bool = False
    prompt_images: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class StoredImage:
    """A file the worker wrote to the image store, to be recorded with its job."""

    index: int
    sha256: str
    width: int
    height: int
    seed: int | None
    format: str = "png"


class JobRepository:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        max_running_per_user: int = 3,
        fast_allowance_s: float | None = None,
    ) -> None:
        self.sessions = sessions
        self.max_running_per_user = max_running_per_user
        # Fast-lane GPU seconds per user per day; past it their jobs run as relax. None: no cap.
        self.fast_allowance_s = fast_allowance_s

    @property
    def dispatched(self) -> bool:
        """Whether jobs go out with dispatch tickets for procrastinate workers (PostgreSQL)."""
        return self.url.get_backend_name() == "postgresql"

    @property
    def url(self) -> URL:
        engine: AsyncEngine = self.sessions.kw["bind"]
        return engine.url

    async def create(self, new: NewJob, state: JobState = JobState.QUEUED) -> tuple[Job, bool]:
        """Insert a job; if its idempotency key is taken, return the existing row (False)."""
        created = await self.create_many([new], state)
        return created[0]

    async def create_many(
        self, batch: Sequence[NewJob], state: JobState = JobState.QUEUED
    ) -> list[tuple[Job, bool]]:
        """Insert a batch in one transaction; rows whose key exists are returned as they are."""
        made = [Job(**new.__dict__, state=state, images=[]) for new in batch]
        async with self.sessions() as session:
            try:  # the common case, new keys only, is a single INSERT
                async with session.begin():
                    session.add_all(made)
                    await self._queued(session, made, state)
                return [(job, True) for job in made]
            except IntegrityError:
                pass  # a retried interaction or button: some keys exist already
        return await self._create_missing(batch, state)

    async def _create_missing(
        self, batch: Sequence[NewJob], state: JobState
    ) -> list[tuple[Job, bool]]:
        keys = [new.idempotency_key for new in batch]
        async with self.sessions() as session:
            try:
                async with session.begin():
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
        async with self.sessions() as session:
            return await session.get(Job, job_id)

    async def claim_next(self, worker_id: str) -> Job | None:
        """Move the fairest startable job (db.fairshare's order) to running for this worker:
        one UPDATE whose subquery orders every member's oldest startable job by their
        standing, in the database, and locks the first one nobody else is claiming; on
        PostgreSQL the job goes back if a concurrent claim took its owner to their limit."""
        parameters = {
            "since": utcnow() - FAIRSHARE_WINDOW,
            "today": today_start(),
            "allowance": self.fast_allowance_s,
            "max_running": self.max_running_per_user,
        }
        while True:
            async with self.sessions() as session, session.begin():
                if self.dispatched:
                    await _as_one_statement(session)
                next_job, start = _CLAIM[session.get_bind().dialect.name]
                claimed: Job | None = await session.scalar(
                    start,
                    {**parameters, "worker": worker_id, "now": utcnow()},
                    execution_options={"populate_existing": True},
                )
                if claimed is None:
                    if await session.scalar(next_job, parameters) is None:
                        return None
                    pause = CLAIM_RETRY_S
                elif self.dispatched and await self._gave_back(session, claimed, parameters):
                    # Its owner is at their limit now: someone else's job, if any. Two
                    # workers that both gave back look again at different moments.
                    pause = random.uniform(0, CLAIM_RETRY_S)
                else:
                    set_committed_value(claimed, "images", [])  # none until it is done
                    return claimed
            # The fairest is locked for a moment (being claimed, or a message id recorded):
            # look again shortly rather than hammer the database.
            await asyncio.sleep(pause)

    @staticmethod
    async def _gave_back(session: AsyncSession, claimed: Job, parameters: dict[str, Any]) -> bool:
        """Give a job just claimed back to the queue (with a ticket) if its owner is over
        their running limit, and say whether it was. A claim reads the running count in its
        snapshot, so two workers can each start one of a member's jobs in different guilds
        at the same moment; this check runs after the claim committed, so of two such claims
        the later one to check sees the other's job (if both see each other, both go back,
        and the claims go on until one keeps it). PostgreSQL only: on SQLite a claim takes
        the write lock as it begins (db/session.py), so each sees the one before. If the
        check fails (the database going away), the job is kept: at worst one over the limit."""
        try:
            given_back = await session.scalar(
                _GIVE_BACK_WITH_TICKET,
                {"job_id": claimed.id, "worker": claimed.worker_id, **parameters},
            )
        except DBAPIError:
            log.warning("could not check job %s against its owner's running limit", claimed.id)
            return False
        return given_back is not None

    async def queue(self) -> list[tuple[Job, int]]:
        """Queued jobs that have a message, each with its place in the queue (1 = next), as
        the fair-share order predicts it (db.fairshare.queue_order), or PAUSED."""
        async with self.sessions() as session:
            jobs = list(
                await session.scalars(
                    select(Job).where(Job.state == JobState.QUEUED, Job.message_id.is_not(None))
                )
            )
            if not jobs:
                return []
            candidates, usage, running = await self._standing(session)
            paused = set(
                await session.scalars(
                    select(GuildSettings.guild_id).where(GuildSettings.queue_paused)
                )
            )
            places = {
                job_id: n for n, job_id in enumerate(queue_order(candidates, usage, running), 1)
            }
        # A job missing from both started between the two reads: the next sweep sees it.
        return [
            (job, PAUSED if job.guild_id in paused else places[job.id])
            for job in jobs
            if job.guild_id in paused or job.id in places
        ]

    async def _standing(
        self, session: AsyncSession
    ) -> tuple[list[Candidate], dict[int, float], dict[int, int]]:
        """Every startable job as a candidate (lanes after the fast allowance), with its
        user's recent GPU seconds and running jobs: one round trip."""
        parameters = {"since": utcnow() - FAIRSHARE_WINDOW, "today": today_start()}
        rows = (await session.execute(_QUEUED_STANDING, parameters)).all()
        candidates = [
            Candidate(
                r.id,
                r.user_id,
                r.created_at,
                effective_lane(r.lane, float(r.fast), self.fast_allowance_s),
            )
            for r in rows
        ]
        return (
            candidates,
            {r.user_id: float(r.recent) for r in rows},
            {r.user_id: int(r.running) for r in rows},
        )

    async def fast_used(self, user_id: int) -> float:
        """GPU seconds of fast-lane work `user_id` finished today (UTC)."""
        async with self.sessions() as session:
            seconds = await session.scalar(
                select(func.sum(Job.gpu_seconds)).where(
                    Job.user_id == user_id, *_fast_time(Job, today_start())
                )
            )
        return float(seconds or 0.0)

    async def set_progress(
        self, job_id: int, percent: int, preview_sha256: str | None = None
    ) -> bool:
        """Record progress, and the newest latent preview if there is one (together, so the
        bot never shows a preview without its progress); False when the job is no longer
        running (cancelled meanwhile)."""
        values: dict[str, Any] = {"progress": percent, "heartbeat_at": utcnow()}
        if preview_sha256 is not None:
            values["preview_sha256"] = preview_sha256
        async with self.sessions() as session, session.begin():
            result = await session.execute(
                update(Job).where(Job.id == job_id, Job.state == JobState.RUNNING).values(values)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def renew_lease(self, job_id: int, worker_id: str) -> bool:
        """The worker is alive and still rendering `job_id`; False if the job is no longer
        its own (cancelled, or requeued after its lease lapsed)."""
        async with self.sessions() as session, session.begin():
            result = await session.execute(
                update(Job)
                .where(*_job_in(job_id, (JobState.RUNNING,), worker_id))
                .values(heartbeat_at=utcnow())
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

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

    async def finish(
        self,
        job_id: int,
        images: Sequence[StoredImage],
        seeds: list[int],
        gpu_seconds: float,
        worker_id: str | None = None,
    ) -> None:
        """Record the result; ignored if the job is no longer running (or, given `worker_id`,
        no longer that worker's: its lease lapsed and another worker took it). A running job
        has no images yet: they are only ever added here, as it leaves the running state.
        On PostgreSQL one statement also writes after_end's tickets (_FINISH_AT_ONCE); on
        SQLite, which has no tickets, the job is updated and its images inserted."""
        done = {
            "job_id": job_id,
            "worker": worker_id,
            "seeds": seeds,
            "gpu_seconds": gpu_seconds,
            "now": utcnow(),
        }
        async with self.sessions() as session, session.begin():
            if self.dispatched:
                await _as_one_statement(session)
                columns = {
                    f"image_{name}": [getattr(image, name) for image in images]
                    for name in _IMAGE_COLUMNS
                }
                await session.execute(_FINISH_AT_ONCE[worker_id is not None], done | columns)
                return
            finished = await session.scalar(_FINISH[worker_id is not None], done)
            if finished is not None and images:
                await session.execute(
                    _ADD_IMAGES, [dict(job_id=job_id, **image.__dict__) for image in images]
                )

    async def fail(self, job_id: int, error: str, worker_id: str | None = None) -> None:
        """End an active job as failed (given `worker_id`, only while it is that worker's)."""
        async with self.sessions() as session, session.begin():
            user_id = await session.scalar(
                update(Job)
                .where(*_job_in(job_id, ACTIVE_STATES, worker_id))
                .values(state=JobState.FAILED, error=error, finished_at=utcnow())
                .returning(Job.user_id)
            )
            if user_id is not None:
                await tickets.after_end(session, user_id)

    async def recover_running(
        self,
        max_attempts: int,
        worker_id: str | None = None,
        lapsed_before: datetime | None = None,
    ) -> int:
        """Requeue jobs a dead worker left running; past `max_attempts` they fail instead.
        All running jobs, or those of `worker_id`, or those whose lease was last renewed
        before `lapsed_before` (other workers may be alive and rendering the rest)."""
        async with self.sessions() as session, session.begin():
            condition = [Job.state == JobState.RUNNING]
            if worker_id is not None:
                condition.append(Job.worker_id == worker_id)
            if lapsed_before is not None:
                condition.append(or_(Job.heartbeat_at.is_(None), Job.heartbeat_at < lapsed_before))
            jobs = (await session.scalars(select(Job).where(*condition))).all()
            for job in jobs:
                if job.attempts >= max_attempts:
                    job.state = JobState.FAILED
                    job.error = f"the render was interrupted {job.attempts} times"
                    job.finished_at = utcnow()
                else:
                    job.state = JobState.QUEUED
                    job.worker_id = None
            await session.flush()
            await tickets.for_jobs(session, [j.id for j in jobs if j.state == JobState.QUEUED])
            failed = Counter(j.user_id for j in jobs if j.state == JobState.FAILED)
            for user_id, ended in failed.items():
                await tickets.after_end(session, user_id, ended)
            return len(jobs)

    async def top_up_tickets(self) -> None:
        """Distributed mode's safety net (db.tickets.top_up)."""
        async with self.sessions() as session, session.begin():
            await tickets.top_up(session)

    async def needing_delivery(self) -> Sequence[Job]:
        """Jobs whose message is behind: new progress to show, or an ended job not delivered."""
        async with self.sessions() as session:
            return (
                await session.scalars(
                    select(Job)
                    .where(
                        or_(
                            Job.state.in_(ACTIVE_STATES) & (Job.progress != Job.shown_progress),
                            Job.state.in_(ENDED_STATES) & Job.delivered_at.is_(None),
                        )
                    )
                    .order_by(Job.id)
                )
            ).all()

    async def attach_message(
        self, job_id: int, message_id: int, token: str, token_expires_at: datetime
    ) -> None:
        """Record the message that shows the job and the interaction token that can edit it."""
        await self._update(
            job_id,
            message_id=message_id,
            interaction_token=token,
            token_expires_at=token_expires_at,
        )

    async def mark_shown(self, job_id: int, progress: int) -> None:
        await self._update(job_id, shown_progress=progress)

    async def mark_place_shown(self, job_id: int, place: int) -> None:
        await self._update(job_id, shown_place=place)

    async def mark_delivered(self, job_id: int, result_message_id: int | None) -> bool:
        """Record the post; False if another delivery got there first (then don't post again)."""
        async with self.sessions() as session, session.begin():
            result = await session.execute(
                update(Job)
                .where(Job.id == job_id, Job.delivered_at.is_(None))
                .values(delivered_at=utcnow(), result_message_id=result_message_id)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def active_counts(
        self, user_id: int | None = None, guild_id: int | None = None
    ) -> dict[str, int]:
        """How many of a user's (or a guild's) jobs are held, queued and running."""
        whose = Job.user_id == user_id if guild_id is None else Job.guild_id == guild_id
        async with self.sessions() as session:
            rows = await session.execute(
                select(Job.state, func.count())
                .where(whose, Job.state.in_((JobState.HELD, *ACTIVE_STATES)))
                .group_by(Job.state)
            )
            return {state: int(count) for state, count in rows.all()}

    async def for_user(
        self,
        user_id: int,
        limit: int = 25,
        offset: int = 0,
        favourites: bool = False,
        public_only: bool = False,
    ) -> Sequence[Job]:
        """A user's jobs, newest first (deleted ones never), optionally favourites only or,
        for anyone but the owner, public ones only."""
        conditions = _listing(user_id, favourites, public_only)
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
        public_only: bool = False,
        up_to: int | None = None,
    ) -> int:
        """How many jobs for_user would list; with `up_to`, counting stops there (a page
        count for someone with 50,000 jobs need not read them all)."""
        listed = select(Job.id).where(*_listing(user_id, favourites, public_only))
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

    async def delete_all(self, user_id: int) -> int:
        """Hide every ended job of a user (the /privacy delete); audit records are not touched."""
        async with self.sessions() as session, session.begin():
            result = await session.execute(
                update(Job)
                .where(
                    Job.user_id == user_id,
                    Job.deleted_at.is_(None),
                    Job.state.in_((JobState.HELD, *ENDED_STATES)),
                )
                .values(deleted_at=utcnow())
            )
            return int(result.rowcount)  # type: ignore[attr-defined]

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

    async def running_previews(self) -> set[str]:
        """The latent previews running jobs' messages show now."""
        async with self.sessions() as session:
            previews = await session.scalars(
                select(Job.preview_sha256).where(
                    Job.state == JobState.RUNNING, Job.preview_sha256.is_not(None)
                )
            )
            return {digest for digest in previews if digest is not None}

    async def set_favourite(self, job_id: int, favourite: bool) -> None:
        await self._update(job_id, favourite=favourite)

    async def delete(self, job_id: int) -> bool:
        """Hide a job from every command at once (its files are purged later)."""
        async with self.sessions() as session, session.begin():
            result = await session.execute(
                update(Job)
                .where(Job.id == job_id, Job.deleted_at.is_(None), Job.state.in_(ENDED_STATES))
                .values(deleted_at=utcnow())
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def _update(self, job_id: int, **values: Any) -> None:
        async with self.sessions() as session, session.begin():
            await session.execute(update(Job).where(Job.id == job_id).values(**values))


async def _as_one_statement(session: AsyncSession) -> None:
    """Run the session's work in autocommit (PostgreSQL): for a single statement, which
    needs no BEGIN and COMMIT round trips. SQLAlchemy restores the isolation level when
    the connection goes back to the pool."""
    await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


def token_expiry(created: datetime, lifetime: timedelta = timedelta(minutes=15)) -> datetime:
    """When an interaction token stops working; a margin keeps us clear of the edge."""
    return created + lifetime - timedelta(seconds=30)


def _listing(user_id: int, favourites: bool, public_only: bool) -> list[ColumnElement[bool]]:
    conditions = [Job.user_id == user_id, Job.deleted_at.is_(None)]
    if favourites:
        conditions.append(Job.favourite.is_(True))
    if public_only:
        conditions += [Job.stealth.is_(False), Job.state == JobState.DONE]
    return conditions


def _job_in(job_id: int, states: Sequence[str], worker_id: str | None) -> list[ColumnElement[bool]]:
    """Job `job_id` in one of `states`, and (given `worker_id`) still that worker's."""
    condition = [Job.id == job_id, Job.state.in_(states)]
    if worker_id is not None:
        condition.append(Job.worker_id == worker_id)
    return condition


def _fast_time(jobs: Any, today: Any) -> tuple[ColumnElement[bool], ...]:
    """Which of `jobs` count against today's fast allowance: finished today, not relax."""
    return (jobs.finished_at >= today, or_(jobs.lane.is_(None), jobs.lane != RELAX))


_Column = ColumnElement[Any] | InstrumentedAttribute[Any]


@dataclass(frozen=True)
class _Standing:
    """A queued job's standing as SQL, correlated to the job's columns it was built on:
    its user's GPU seconds since `:since`, fast-lane seconds since `:today` and running
    jobs; its lane after the fast allowance (db.fairshare.effective_lane, `:allowance`
    NULL for no cap); its guild's own running cap; and db.fairshare's order key."""

    recent: ColumnElement[Any]
    fast: ColumnElement[Any]
    running: ColumnElement[Any]
    lane: ColumnElement[Any]
    cap: ColumnElement[Any]
    key: tuple[_Column, ...]


def _standing_of(
    job_id: _Column,
    user_id: _Column,
    guild_id: _Column,
    lane: _Column,
    created_at: _Column,
    running: ColumnElement[Any] | None = None,
) -> _Standing:
    """The standing of the job with these columns; `running`, given, is its user's running
    jobs as the caller counted them (see _fairest)."""
    history = aliased(Job)

    def seconds(*where: ColumnElement[bool]) -> ColumnElement[Any]:
        total = select(func.sum(history.gpu_seconds)).where(history.user_id == user_id, *where)
        return func.coalesce(total.scalar_subquery(), 0.0)

    recent = seconds(history.finished_at >= bindparam("since"))
    fast = seconds(*_fast_time(history, bindparam("today")))
    if running is None:
        running = (
            select(func.count())
            .where(history.user_id == user_id, history.state == JobState.RUNNING)
            .scalar_subquery()
        )
    cap = (
        select(GuildSettings.max_running_jobs)
        .where(GuildSettings.guild_id == guild_id)
        .scalar_subquery()
    )
    effective_lane = case(
        (or_(lane == RELAX, bindparam("allowance", type_=Float) <= fast), RELAX),
        else_=func.coalesce(lane, "fast"),
    )
    return _Standing(
        recent=recent,
        fast=fast,
        running=running,
        lane=effective_lane,
        cap=cap,
        key=_order_key(effective_lane, running, recent, created_at, job_id),
    )


def _order_key(
    lane: _Column, running: _Column, recent: _Column, created_at: _Column, job_id: _Column
) -> tuple[_Column, ...]:
    """db.fairshare._key: fast before relax, fewest running, least recent GPU time, oldest."""
    return (lane == RELAX, running, recent, created_at, job_id)


def _running_limit(cap: _Column) -> ColumnElement[Any]:
    """db.guilds.within_deployment of a guild's `cap` and the deployment's `:max_running`."""
    deployment = bindparam("max_running", type_=Integer)
    return case((and_(cap > 0, deployment > cap), cap), else_=deployment)


_jobs = Job.metadata.tables[Job.__tablename__]
_JOB = _standing_of(Job.id, Job.user_id, Job.guild_id, Job.lane, Job.created_at)

# A job without image prompts has `[]`.
_HAS_PROMPT_IMAGES = cast(Job.prompt_images, String) != "[]"

# Jobs that may start: queued, and not in a guild whose queue moderators paused.
_STARTABLE = (
    Job.state == JobState.QUEUED,
    or_(
        Job.guild_id.is_(None),
        Job.guild_id.not_in(select(GuildSettings.guild_id).where(GuildSettings.queue_paused)),
    ),
)
# Every startable job with its standing, for queue places (db.fairshare.queue_order).
# Built once: SQLAlchemy takes longer to build these statements than the database to run them.
_QUEUED_STANDING = select(
    Job.id,
    Job.user_id,
    Job.created_at,
    Job.lane,
    _JOB.recent.label("recent"),
    _JOB.fast.label("fast"),
    _JOB.running.label("running"),
).where(*_STARTABLE)
# Each member's oldest startable job per guild (guilds may set their own running limits,
# so one guild's may wait while another's starts): the candidates to start next, by
# dialect. PostgreSQL takes each group's first row with DISTINCT ON; SQLite groups, and
# gives the bare columns beside min(id) from the row that has it (its documented rule).
# At 1,000 queued for 200 members, DISTINCT ON took 15-33% less time than grouping
# and then looking each one's lane and time up by id; numbering every member's jobs with
# a window function took longer than either.
_OLDEST_STARTABLE = {
    "postgresql": select(Job.id, Job.user_id, Job.guild_id, Job.lane, Job.created_at)
    .where(*_STARTABLE)
    .ext(distinct_on(Job.user_id, Job.guild_id))
    .order_by(Job.user_id, Job.guild_id, Job.id)
    .subquery("queued"),
    "sqlite": select(
        func.min(Job.id).label("id"), Job.user_id, Job.guild_id, Job.lane, Job.created_at
    )
    .where(*_STARTABLE)
    .group_by(Job.user_id, Job.guild_id)
    .subquery("queued"),
}


def _fairest(queued: Subquery) -> Select[Any]:
    """The fairest few `queued` candidates below their running limit, in db.fairshare's
    order (its _key, here in SQL so that the worker receives a few rows, not every
    candidate's standing; tests/db/test_jobs.py checks the two agree). Each candidate's
    standing is computed once (the filter and the order use it twice), and every subquery
    in it is a lookup by the candidate's own columns, so that no planner statistics can
    turn it into a join that rescans the queue for each queued job (stale statistics did:
    50 ms a claim at 2,000 queued)."""
    # Running jobs counted once for everybody (there are few: one per worker at most), then
    # looked up per candidate: at 200 waiting members and 2,000 queued, 0.5-0.6 ms less per
    # claim than counting each one's in the index.
    running = (
        select(Job.user_id, func.count().label("jobs"))
        .where(Job.state == JobState.RUNNING)
        .group_by(Job.user_id)
        .cte("running")
        .prefix_with("MATERIALIZED")
    )
    head = _standing_of(
        queued.c.id,
        queued.c.user_id,
        queued.c.guild_id,
        queued.c.lane,
        queued.c.created_at,
        running=func.coalesce(
            select(running.c.jobs).where(running.c.user_id == queued.c.user_id).scalar_subquery(),
            0,
        ),
    )
    heads = (
        select(
            queued.c.id,
            queued.c.created_at,
            head.lane.label("lane"),
            head.running.label("running"),
            head.recent.label("recent"),
            head.cap.label("cap"),
        )
        .cte("heads")
        .prefix_with("MATERIALIZED")
    )
    return (
        select(heads.c.id)
        .where(heads.c.running < _running_limit(heads.c.cap))
        .order_by(
            *_order_key(
                heads.c.lane, heads.c.running, heads.c.recent, heads.c.created_at, heads.c.id
            )
        )
        .limit(CLAIM_TRIES)
    )


def _claim(among_fairest: ColumnElement[bool]) -> tuple[Select[Any], Executable]:
    """The claim's statements: the next job's id (the first of the fairest candidates still
    queued), and the UPDATE that starts it, locking it so that concurrent claims skip it.
    The UPDATE is a Core one, loaded as a Job through from_statement: an ORM UPDATE is
    copied at every execution, and SQLAlchemy then derives this big statement's cache key
    again each time (0.8 ms, a quarter of a claim's Python time)."""
    next_job = (
        select(Job.id)
        .where(among_fairest, Job.state == JobState.QUEUED)  # rechecked on a row just taken
        .order_by(*_JOB.key)
        .limit(1)
    )
    start = (
        update(_jobs)
        .where(_jobs.c.id == next_job.with_for_update(skip_locked=True).scalar_subquery())
        .values(
            state=JobState.RUNNING,
            attempts=_jobs.c.attempts + 1,
            worker_id=bindparam("worker"),
            started_at=bindparam("now"),
            heartbeat_at=bindparam("now"),
            progress=0,
            lane=_JOB.lane,  # relax if the fast allowance is spent
        )
        .returning(*_jobs.c)
    )
    return next_job, select(Job).options(lazyload(Job.images)).from_statement(start)


# A job back to the queue, as before the claim (but for the lane the claim settled), when
# its owner's running jobs, itself included, are over its guild's running limit; with its
# ticket, in one statement (claim_next's check after the claim, in autocommit).
_GIVE_BACK = (
    update(_jobs)
    .where(
        _jobs.c.id == bindparam("job_id"),
        _jobs.c.state == JobState.RUNNING,
        _jobs.c.worker_id == bindparam("worker"),
        _running_limit(_JOB.cap) < _JOB.running,
    )
    .values(
        state=JobState.QUEUED,
        attempts=_jobs.c.attempts - 1,
        progress=-1,
        worker_id=None,
        started_at=None,
        heartbeat_at=None,
    )
    .returning(_jobs.c.id)
    .cte("back")
)
_GIVE_BACK_WITH_TICKET = select(_GIVE_BACK.c.id, tickets.for_one("back.id"))

# A worker's result: the job done (given a worker, only while it is that worker's), its
# owner's id and its own returned; then its images. Core statements built once: the ORM's
# bulk UPDATE and building them per call were a third of a finish's Python time.
_FINISH = {
    with_worker: update(_jobs)
    .where(
        _jobs.c.id == bindparam("job_id"),
        _jobs.c.state == JobState.RUNNING,
        *([_jobs.c.worker_id == bindparam("worker")] if with_worker else []),
    )
    .values(
        state=JobState.DONE,
        progress=100,
        seeds=bindparam("seeds", type_=_jobs.c.seeds.type),
        gpu_seconds=_jobs.c.gpu_seconds + bindparam("gpu_seconds", type_=Float),
        finished_at=bindparam("now"),
    )
    .returning(_jobs.c.user_id, _jobs.c.id)
    for with_worker in (False, True)
}
_job_images = Job.metadata.tables[JobImage.__tablename__]
_ADD_IMAGES = insert(_job_images)
# The image columns, each given to the one-statement finish as an array of this type
# (text unbounded: a cast to VARCHAR(64)[] would cut an over-long value without a word).
_IMAGE_COLUMNS = {
    "index": Integer,
    "sha256": String,
    "width": Integer,
    "height": Integer,
    "seed": BigInteger,
    "format": String,
}


def _finish_at_once(with_worker: bool) -> Select[Any]:
    """PostgreSQL's finish as one statement, run in autocommit: the job done, its images
    added (given as one array per column) and after_end's tickets written. One round trip
    where the statements one by one took five (BEGIN and COMMIT included); round trips
    were most of a finish's time."""
    done = _FINISH[with_worker].cte("done")
    image = (
        func.unnest(
            *(
                bindparam(f"image_{name}", type_=ARRAY(type_))
                for name, type_ in _IMAGE_COLUMNS.items()
            )
        )
        .table_valued(*_IMAGE_COLUMNS)
        .render_derived("image")
    )
    added = insert(_job_images).from_select(
        ["job_id", *_IMAGE_COLUMNS],
        select(done.c.id, *image.c).select_from(done.join(image, true())),
    )
    return select(done.c.user_id, tickets.after_one_ended("done.user_id")).add_cte(
        added.cte("added")
    )


_FINISH_AT_ONCE = {with_worker: _finish_at_once(with_worker) for with_worker in (False, True)}

# By dialect: PostgreSQL takes the fairest as one array, computed once (as an IN subquery
# its planner may rescan them per row); SQLite computes an IN subquery once.
_CLAIM = {
    "postgresql": _claim(
        Job.id
        == any_(
            cast(
                select(
                    func.array_agg(_fairest(_OLDEST_STARTABLE["postgresql"]).subquery().c.id)
                ).scalar_subquery(),
                ARRAY(Integer),
            )
        )
    ),
    "sqlite": _claim(Job.id.in_(_fairest(_OLDEST_STARTABLE["sqlite"]))),
}
