"""Counts over the jobs table for the metrics: jobs by state and kind, the oldest wait."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import Job, JobState


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
