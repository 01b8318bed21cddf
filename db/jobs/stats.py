"""Counts over the jobs table for the metrics: jobs by state and kind, the oldest wait."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import Job, JobState


@dataclass(frozen=True)
class ServerUsage:
    """A server's jobs since a time: how many, GPU seconds, members, per day, per model."""

    jobs: int
    gpu_seconds: float
    members: int
    per_day: dict[date, int]
    models: list[tuple[str, int]]  # most used first


class JobStats:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def by_state_and_kind(self) -> dict[tuple[str, str], int]:
        """How many jobs there are in each (state, kind) (deleted ones too: they ran)."""
        async with self.sessions() as session:
            rows = await session.execute(
                select(Job.state, Job.action, func.count()).group_by(Job.state, Job.action)
            )
            return {(state, action): count for state, action, count in rows}

    async def oldest_queued(self) -> datetime | None:
        """When the job waiting longest was made (None: nothing waits)."""
        async with self.sessions() as session:
            return await session.scalar(
                select(func.min(Job.created_at)).where(Job.state == JobState.QUEUED)
            )

    async def server_usage(self, guild_id: int, since: datetime) -> ServerUsage:
        """What a server's members ran since `since` (deleted jobs too: they ran)."""
        made_here = (Job.guild_id == guild_id, Job.created_at >= since)
        async with self.sessions() as session:
            jobs, gpu, members = (
                await session.execute(
                    select(
                        func.count(), func.coalesce(func.sum(Job.gpu_seconds), 0.0),
                        func.count(func.distinct(Job.user_id)),
                    ).where(*made_here)
                )
            ).one()  # fmt: skip
            models = await session.execute(
                select(Job.model, func.count())
                .where(*made_here)
                .group_by(Job.model)
                .order_by(func.count().desc(), Job.model)
                .limit(5)
            )
            created = await session.scalars(select(Job.created_at).where(*made_here))
            per_day: dict[date, int] = {}
            for when in created:
                per_day[when.date()] = per_day.get(when.date(), 0) + 1
        return ServerUsage(jobs, float(gpu), members, per_day, [(m, n) for m, n in models])
