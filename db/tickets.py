"""Dispatch tickets: how procrastinate wakes the workers in distributed mode (PostgreSQL).

The jobs table stays the source of truth and decides the order (db.fairshare); procrastinate
carries tickets. A ticket is a procrastinate job of task `TASK` whose only argument is the id
of the job that became startable. The worker that takes it starts the fairest startable job,
which need not be that one (the ticket's job may have been cancelled, or someone lighter may
be waiting); a ticket that finds nothing startable ends.

So that no startable job waits without a ticket, one is written in the same transaction as
every change that can make a job startable: a job queued (created, or a held batch
confirmed), a running job ended while its owner had jobs held back by the running limit, jobs
requeued after their worker died, a guild's queue resumed or its limit changed. Workers also
add one when jobs wait and no ticket does (`missing`), which bounds the cost of any path
missed here to one upkeep interval.

On SQLite (embedded mode) there is no procrastinate: every function here does nothing, and
the in-process worker is woken directly.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import URL, BigInteger, TextClause, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import JobState

TASK = "imaginebot.start_next"
QUEUE = "render"


def _defer(job_ids: str) -> TextClause:
    """A statement deferring one ticket per id the subquery `job_ids` (column `id`) yields."""
    return text(
        f"""
        SELECT procrastinate_defer_jobs_v1(ARRAY(
            SELECT ROW('{QUEUE}', '{TASK}', 0, NULL, NULL, jsonb_build_object('job_id', j.id),
                       NULL)::procrastinate_job_to_defer_v1
            FROM ({job_ids}) AS j
            ORDER BY j.id
        ))
        """
    )


_FOR_JOBS = _defer("SELECT unnest(:ids) AS id").bindparams(
    bindparam("ids", type_=ARRAY(BigInteger))
)
_FOR_GUILD = _defer(f"SELECT id FROM jobs WHERE guild_id = :guild AND state = '{JobState.QUEUED}'")
# After one of the user's running jobs ended: one ticket if a job of theirs was held back by
# its running limit (the deployment's, or its guild's if tighter) and may start now.
_FOR_FREED_SLOT = _defer(
    f"""
    SELECT q.id FROM jobs q LEFT JOIN guild_settings g ON g.guild_id = q.guild_id
    WHERE q.user_id = :user AND q.state = '{JobState.QUEUED}'
      AND LEAST(COALESCE(NULLIF(g.max_running_jobs, 0), :cap), :cap) <= 1 + (
          SELECT count(*) FROM jobs r WHERE r.user_id = :user AND r.state = '{JobState.RUNNING}')
    ORDER BY q.id LIMIT 1
    """
)
_MISSING = _defer(
    f"""
    SELECT id FROM jobs WHERE state = '{JobState.QUEUED}' AND NOT EXISTS (
        SELECT 1 FROM procrastinate_jobs WHERE queue_name = '{QUEUE}' AND status = 'todo')
    ORDER BY id LIMIT 1
    """
)


def _dispatched(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


async def for_jobs(session: AsyncSession, job_ids: Sequence[int]) -> None:
    """Tickets for jobs that were just queued."""
    if job_ids and _dispatched(session):
        await session.execute(_FOR_JOBS, {"ids": list(job_ids)})


async def for_guild(session: AsyncSession, guild_id: int) -> None:
    """Tickets for every queued job of a guild whose queue was resumed or limit changed."""
    if _dispatched(session):
        await session.execute(_FOR_GUILD, {"guild": guild_id})


async def for_freed_slot(session: AsyncSession, user_id: int, max_running: int) -> None:
    """A running job of `user_id` ended (in this transaction): a ticket if that lets another
    of theirs start (`max_running`: the deployment's running limit)."""
    if _dispatched(session):
        await session.execute(_FOR_FREED_SLOT, {"user": user_id, "cap": max_running})


async def missing(session: AsyncSession) -> None:
    """A ticket if jobs are queued and none waits (the safety net)."""
    if _dispatched(session):
        await session.execute(_MISSING)


def conninfo(url: URL) -> str:
    """The libpq connection string procrastinate's psycopg connector needs, from the
    SQLAlchemy URL of the same database."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)
