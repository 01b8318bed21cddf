"""The jobs table as a worker sees it: claim, render, finish; leases and recovery."""

from __future__ import annotations

import asyncio
import logging
import random
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    URL,
    BigInteger,
    Float,
    Integer,
    Select,
    String,
    bindparam,
    func,
    insert,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm.attributes import set_committed_value

from db import tickets
from db.jobs.common import (
    StoredImage,
    as_one_statement,
    database_url,
    dispatched,
    fail_job,
    get_job,
    job_in,
)
from db.jobs.scheduling import (
    CLAIM,
    CLAIM_RETRY_S,
    GIVE_BACK_WITH_TICKET,
    claim_parameters,
)
from db.models import Job, JobImage, JobState, utcnow

log = logging.getLogger(__name__)


class WorkerJobs:
    """What a worker asks of the jobs table: the fairest job to start, progress and its
    lease while it renders, the result or the failure; jobs a dead worker left behind.

    Delivery guarantee: a job may be rendered more than once (a worker can die mid-render
    and the job is claimed again), but its result is recorded only while the job is still
    that worker's, and the bot marks its post once (DeliveryJobs.mark_delivered), so a
    retried job never posts twice.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        max_running_per_user: int = 3,
        fast_allowance_s: float | None = None,
        models: Sequence[str] | None = None,
    ) -> None:
        self.sessions = sessions
        self.max_running_per_user = max_running_per_user
        # The presets this worker serves: it claims only their jobs (None: any job).
        self.models = list(models) if models is not None else None
        # Fast-lane GPU seconds per user per day; past it their jobs run as relax. None: no cap.
        self.fast_allowance_s = fast_allowance_s

    @property
    def dispatched(self) -> bool:
        """Whether jobs come with dispatch tickets for procrastinate workers (PostgreSQL)."""
        return dispatched(self.sessions)

    @property
    def url(self) -> URL:
        return database_url(self.sessions)

    async def get(self, job_id: int) -> Job | None:
        return await get_job(self.sessions, job_id)

    async def claim_next(self, worker_id: str) -> Job | None:
        """Move the fairest startable job (db.fairshare's order; of the presets the worker
        serves, given `models`) to running for this worker:
        one UPDATE whose subquery orders every member's oldest startable job by their
        standing, in the database, and locks the first one nobody else is claiming; on
        PostgreSQL the job goes back if a concurrent claim took its owner to their limit."""
        parameters = claim_parameters(self.max_running_per_user, self.fast_allowance_s)
        if self.models is not None:
            parameters["models"] = self.models
        while True:
            async with self.sessions() as session, session.begin():
                if self.dispatched:
                    await as_one_statement(session)
                next_job, start = CLAIM[self.models is not None][session.get_bind().dialect.name]
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
                GIVE_BACK_WITH_TICKET,
                {"job_id": claimed.id, "worker": claimed.worker_id, **parameters},
            )
        except DBAPIError:
            log.warning("could not check job %s against its owner's running limit", claimed.id)
            return False
        return given_back is not None

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
                .where(*job_in(job_id, (JobState.RUNNING,), worker_id))
                .values(heartbeat_at=utcnow())
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def finish(
        self,
        job_id: int,
        images: Sequence[StoredImage],
        seeds: list[int],
        gpu_seconds: float,
        worker_id: str | None = None,
        answer: dict[str, Any] | None = None,
    ) -> None:
        """Record the result (its images, or the `answer` of a job that answers in text);
        ignored if the job is no longer running (or, given `worker_id`,
        no longer that worker's: its lease lapsed and another worker took it). A running job
        has no images yet: they are only ever added here, as it leaves the running state.
        On PostgreSQL one statement also writes after_end's tickets (_FINISH_AT_ONCE); on
        SQLite, which has no tickets, the job is updated and its images inserted."""
        done = {
            "job_id": job_id,
            "worker": worker_id,
            "seeds": seeds,
            "gpu_seconds": gpu_seconds,
            "answer": answer,
            "now": utcnow(),
        }
        async with self.sessions() as session, session.begin():
            if self.dispatched:
                await as_one_statement(session)
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
        await fail_job(self.sessions, job_id, error, worker_id)

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

    async def hand_on_ticket(self, lease_s: float) -> None:
        """This worker found nothing to start among its presets' jobs: pass a ticket on to
        the workers of the others (db.tickets.hand_on). Nothing for a worker of any job."""
        if self.models is None or not self.dispatched:
            return
        async with self.sessions() as session, session.begin():
            await tickets.hand_on(session, self.models, lease_s)

    async def top_up_tickets(self) -> None:
        """Distributed mode's safety net (db.tickets.top_up)."""
        async with self.sessions() as session, session.begin():
            await tickets.top_up(session)


_jobs = Job.metadata.tables[Job.__tablename__]

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
        answer=bindparam("answer", type_=_jobs.c.answer.type),
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
