"""What every side of the jobs table shares: the rows as the bot makes them and the worker
stores them, the states, and the few queries all of them need."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    URL,
    ColumnElement,
    or_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from db import tickets
from db.fairshare import RELAX
from db.models import Job, JobState, utcnow

ACTIVE_STATES = (JobState.QUEUED, JobState.RUNNING)

ENDED_STATES = (JobState.DONE, JobState.FAILED, JobState.CANCELLED)


class QueueLimitReached(Exception):
    """A member already has `waiting` jobs held or queued (`running` running): at the limit."""

    def __init__(self, waiting: int, running: int, limit: int) -> None:
        super().__init__(f"{waiting} jobs waiting, limit {limit}")
        self.waiting = waiting
        self.running = running
        self.limit = limit


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


def dispatched(sessions: async_sessionmaker[AsyncSession]) -> bool:
    """Whether jobs go out with dispatch tickets for procrastinate workers (PostgreSQL)."""
    return database_url(sessions).get_backend_name() == "postgresql"


def database_url(sessions: async_sessionmaker[AsyncSession]) -> URL:
    engine: AsyncEngine = sessions.kw["bind"]
    return engine.url


async def get_job(sessions: async_sessionmaker[AsyncSession], job_id: int) -> Job | None:
    async with sessions() as session:
        return await session.get(Job, job_id)


async def update_job(
    sessions: async_sessionmaker[AsyncSession], job_id: int, **values: Any
) -> None:
    async with sessions() as session, session.begin():
        await session.execute(update(Job).where(Job.id == job_id).values(**values))


async def fail_job(
    sessions: async_sessionmaker[AsyncSession],
    job_id: int,
    error: str,
    worker_id: str | None = None,
) -> None:
    """End an active job as failed (given `worker_id`, only while it is that worker's)."""
    async with sessions() as session, session.begin():
        user_id = await session.scalar(
            update(Job)
            .where(*job_in(job_id, ACTIVE_STATES, worker_id))
            .values(state=JobState.FAILED, error=error, finished_at=utcnow())
            .returning(Job.user_id)
        )
        if user_id is not None:
            await tickets.after_end(session, user_id)


async def as_one_statement(session: AsyncSession) -> None:
    """Run the session's work in autocommit (PostgreSQL): for a single statement, which
    needs no BEGIN and COMMIT round trips. SQLAlchemy restores the isolation level when
    the connection goes back to the pool."""
    await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


def job_in(job_id: int, states: Sequence[str], worker_id: str | None) -> list[ColumnElement[bool]]:
    """Job `job_id` in one of `states`, and (given `worker_id`) still that worker's."""
    condition = [Job.id == job_id, Job.state.in_(states)]
    if worker_id is not None:
        condition.append(Job.worker_id == worker_id)
    return condition


def fast_time(jobs: Any, today: Any) -> tuple[ColumnElement[bool], ...]:
    """Which of `jobs` count against today's fast allowance: finished today, not relax."""
    return (jobs.finished_at >= today, or_(jobs.lane.is_(None), jobs.lane != RELAX))
