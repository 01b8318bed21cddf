"""Dispatch tickets: how procrastinate wakes the workers in distributed mode (PostgreSQL).

The jobs table stays the source of truth and decides the order (db.fairshare); procrastinate
carries tickets. A ticket is a procrastinate job of task `TASK` whose only argument is the id
of a job that became startable. The worker that takes it starts the fairest startable job,
which need not be that one (the ticket's job may have been cancelled, or someone lighter may
be waiting); a ticket that finds nothing startable ends.

The rule: at least as many tickets wait as jobs can start. Each change that can let jobs
start writes tickets in its own transaction: one per job queued (created, a held batch
confirmed, requeued after its worker died, given back by a claim that took its owner over
their running limit), one per queued job of a guild whose queue was
resumed or running limit changed, and, when running jobs end while their owner has jobs
waiting, one per ended job unless tickets already wait for every queued job (`after_end`).
A claim that starts a job uses one ticket and makes one job fewer startable; one that finds
nothing startable uses a ticket when none was needed. Tickets a dead worker held, or whose
claim failed on a database error more than its retries, are made up for by `top_up`, which
every worker runs when it starts and at every lease interval: it writes a ticket for each
queued job beyond the tickets waiting.

On SQLite (embedded mode) there is no procrastinate: every function here does nothing, and
the in-process worker is woken directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    URL,
    BigInteger,
    ColumnElement,
    Float,
    String,
    TextClause,
    bindparam,
    literal_column,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import JobState

TASK = "imaginebot.start_next"
QUEUE = "render"


def _defer_sql(job_ids: str, at: str = "NULL") -> str:
    """A query deferring one ticket per id the subquery `job_ids` (column `id`) yields, to
    be taken from `at` (SQL; NULL: now)."""
    return f"""
        SELECT procrastinate_defer_jobs_v1(ARRAY(
            SELECT ROW('{QUEUE}', '{TASK}', 0, NULL, NULL, jsonb_build_object('job_id', j.id),
                       {at})::procrastinate_job_to_defer_v1
            FROM ({job_ids}) AS j
            ORDER BY j.id
        ))
        """


def _defer(job_ids: str) -> TextClause:
    return text(_defer_sql(job_ids))


_FOR_JOBS = _defer("SELECT unnest(:ids) AS id").bindparams(
    bindparam("ids", type_=ARRAY(BigInteger))
)
_FOR_GUILD = _defer(f"SELECT id FROM jobs WHERE guild_id = :guild AND state = '{JobState.QUEUED}'")
# Queued jobs beyond the waiting tickets; those tickets already cover the rest.
_UNCOVERED = f"""
    GREATEST(0, (SELECT count(*) FROM jobs WHERE state = '{JobState.QUEUED}') - (
        SELECT count(*) FROM procrastinate_jobs WHERE queue_name = '{QUEUE}' AND status = 'todo'))
"""


def _after_end(user: str, ended: str) -> str:
    """One ticket per ended job (`ended` of them, SQL) of the owner `user` (SQL), for the
    owner's oldest waiting jobs (no more than wait)."""
    return _defer_sql(
        f"""
        SELECT id FROM jobs WHERE user_id = {user} AND state = '{JobState.QUEUED}'
        ORDER BY id LIMIT LEAST({ended}, {_UNCOVERED})
        """
    )


_AFTER_END = text(_after_end(":user", ":ended"))
_TOP_UP = _defer(
    f"SELECT id FROM jobs WHERE state = '{JobState.QUEUED}' ORDER BY id LIMIT {_UNCOVERED}"
)


# A ticket for the oldest queued job of a preset the worker does not serve and a live worker
# (heard from within :lease seconds) does, a second from now: two workers that serve none
# of each other's jobs pass it at most once a second, and a job nobody serves gets none.
_HAND_ON = text(
    _defer_sql(
        f"""
        SELECT id FROM jobs WHERE state = '{JobState.QUEUED}' AND NOT (model = ANY(:models))
        AND model IN (
            SELECT json_array_elements_text(w.models) FROM workers AS w
            WHERE w.seen_at > now() - make_interval(secs => :lease))
        ORDER BY id LIMIT 1
        """,
        at="now() + interval '1 second'",
    )
).bindparams(bindparam("models", type_=ARRAY(String)), bindparam("lease", type_=Float))


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


async def after_end(session: AsyncSession, user_id: int, ended: int = 1) -> None:
    """`ended` running jobs of `user_id` ended (in this transaction): their owner may start
    as many more, if jobs of theirs wait."""
    if _dispatched(session):
        await session.execute(_AFTER_END, {"user": user_id, "ended": ended})


def after_one_ended(owner: str) -> ColumnElement[Any]:
    """after_end's tickets for one ended job, as a column of a statement that ends the job
    itself (a data-modifying CTE); `owner` is the SQL of the job's owner there, such as
    "done.user_id". The statement's snapshot is the one from before the job ended, which
    is all after_end looks at: queued jobs and waiting tickets."""
    return literal_column(f"({_after_end(owner, '1')})")


def for_one(job_id: str) -> ColumnElement[Any]:
    """for_jobs' ticket for one job, as a column of a statement that queues the job itself
    (a data-modifying CTE); `job_id` is the SQL of its id there, such as "back.id"."""
    return literal_column(f"({_defer_sql(f'SELECT {job_id} AS id')})")


async def hand_on(session: AsyncSession, models: Sequence[str], lease_s: float) -> None:
    """A worker serving only `models` took a ticket it could not use: if jobs of other
    presets wait and live workers serve them, those get one (else that ticket was spent
    and they would wait for the next top-up)."""
    if _dispatched(session):
        await session.execute(_HAND_ON, {"models": list(models), "lease": lease_s})


async def top_up(session: AsyncSession) -> None:
    """A ticket for every queued job beyond the tickets waiting (the safety net)."""
    if _dispatched(session):
        await session.execute(_TOP_UP)


# Query options of SQLAlchemy's asyncpg URLs that libpq does not know.
_ASYNCPG_ONLY = ("prepared_statement_cache_size", "prepared_statement_name_func")


def conninfo(url: URL) -> str:
    """The libpq connection string procrastinate's psycopg connector needs, from the
    SQLAlchemy URL of the same database (asyncpg's `ssl` option is libpq's `sslmode`)."""
    query = {k: v for k, v in url.query.items() if k not in _ASYNCPG_ONLY}
    if "ssl" in query:
        ssl = query.pop("ssl")
        query["sslmode"] = "require" if ssl in ("true", "True") else ssl
    libpq = url.set(drivername="postgresql", query=query)
    return libpq.render_as_string(hide_password=False)
