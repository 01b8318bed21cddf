"""The scheduler's SQL: which job starts next (db.fairshare's order, applied in the database),
within each member's running limit, and the queue places that order predicts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Executable,
    Float,
    Integer,
    Select,
    Subquery,
    and_,
    any_,
    bindparam,
    case,
    cast,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, distinct_on
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, aliased, lazyload

from db import tickets
from db.fairshare import RELAX, Candidate, effective_lane
from db.jobs.common import fast_time
from db.models import GuildSettings, Job, JobState, today_start, utcnow

FAIRSHARE_WINDOW = timedelta(hours=1)

# The fairest candidates a claim tries (concurrent claims skip each other's) before it
# looks at the queue again, CLAIM_RETRY_S later.
CLAIM_TRIES = 8

CLAIM_RETRY_S = 0.05

# The place DeliveryJobs.queue gives a job whose guild's queue moderators paused.
PAUSED = 0


async def standing(
    session: AsyncSession, fast_allowance_s: float | None
) -> tuple[list[Candidate], dict[int, float], dict[int, int]]:
    """Every startable job as a candidate (lanes after the fast allowance), with its
    user's recent GPU seconds and running jobs: one round trip."""
    parameters = {"since": utcnow() - FAIRSHARE_WINDOW, "today": today_start()}
    rows = (await session.execute(QUEUED_STANDING, parameters)).all()
    candidates = [
        Candidate(
            r.id,
            r.user_id,
            r.created_at,
            effective_lane(r.lane, float(r.fast), fast_allowance_s),
        )
        for r in rows
    ]
    return (
        candidates,
        {r.user_id: float(r.recent) for r in rows},
        {r.user_id: int(r.running) for r in rows},
    )


def claim_parameters(max_running: int, fast_allowance_s: float | None) -> dict[str, Any]:
    """The bound values of the claim's statements (CLAIM, GIVE_BACK_WITH_TICKET)."""
    return {
        "since": utcnow() - FAIRSHARE_WINDOW,
        "today": today_start(),
        "allowance": fast_allowance_s,
        "max_running": max_running,
    }


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
    fast = seconds(*fast_time(history, bindparam("today")))
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
QUEUED_STANDING = select(
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
# dialect, and (`by_model`) among the jobs of the presets a worker serves (`:models`), so the
# fair-share order holds among the jobs it can take. PostgreSQL takes each group's first row
# with DISTINCT ON; SQLite groups, and gives the bare columns beside min(id) from the row
# that has it (its documented rule). DISTINCT ON beat grouping then looking each head up by
# id, and a window function over every member's jobs (docs/design-notes.md, "What the
# claim's SQL costs").
def _oldest_startable(dialect: str, by_model: bool) -> Subquery:
    where = [*_STARTABLE]
    if by_model:
        where.append(Job.model.in_(bindparam("models", expanding=True)))
    if dialect == "postgresql":
        return (
            select(Job.id, Job.user_id, Job.guild_id, Job.lane, Job.created_at)
            .where(*where)
            .ext(distinct_on(Job.user_id, Job.guild_id))
            .order_by(Job.user_id, Job.guild_id, Job.id)
            .subquery("queued")
        )
    return (
        select(func.min(Job.id).label("id"), Job.user_id, Job.guild_id, Job.lane, Job.created_at)
        .where(*where)
        .group_by(Job.user_id, Job.guild_id)
        .subquery("queued")
    )


def _fairest(queued: Subquery) -> Select[Any]:
    """The fairest few `queued` candidates below their running limit, in db.fairshare's
    order (its _key, here in SQL so that the worker receives a few rows, not every
    candidate's standing; tests/unit/db/test_scheduling.py checks the two agree). Each candidate's
    standing is computed once (the filter and the order use it twice), and every subquery
    in it is a lookup by the candidate's own columns, so that no planner statistics can
    turn it into a join that rescans the queue for each queued job (stale statistics did:
    docs/design-notes.md, "What the claim's SQL costs")."""
    # Running jobs counted once for everybody (there are few: one per worker at most), then
    # looked up per candidate, rather than counted in the index for each waiting member.
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
    again each time, a large share of a claim's Python time."""
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

GIVE_BACK_WITH_TICKET = select(_GIVE_BACK.c.id, tickets.for_one("back.id"))


# By dialect, and whether the worker serves only some presets: PostgreSQL takes the fairest
# as one array, computed once (as an IN subquery its planner may rescan them per row);
# SQLite computes an IN subquery once.
def _claims(by_model: bool) -> dict[str, tuple[Select[Any], Executable]]:
    fairest_pg = _fairest(_oldest_startable("postgresql", by_model)).subquery().c.id
    return {
        "postgresql": _claim(
            Job.id
            == any_(cast(select(func.array_agg(fairest_pg)).scalar_subquery(), ARRAY(Integer)))
        ),
        "sqlite": _claim(Job.id.in_(_fairest(_oldest_startable("sqlite", by_model)))),
    }


CLAIM = {by_model: _claims(by_model) for by_model in (False, True)}
