"""The three views of the jobs table on one database, for tests and benchmarks that play the
bot, its delivery and the workers at once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import DeliveryJobs, MemberJobs, WorkerJobs


@dataclass(frozen=True)
class JobTables:
    member: MemberJobs
    worker: WorkerJobs
    delivery: DeliveryJobs

    @property
    def sessions(self) -> async_sessionmaker[Any]:
        return self.member.sessions


def job_tables(
    sessions: async_sessionmaker[AsyncSession],
    max_running_per_user: int = 3,
    fast_allowance_s: float | None = None,
) -> JobTables:
    return JobTables(
        MemberJobs(sessions),
        WorkerJobs(sessions, max_running_per_user, fast_allowance_s),
        DeliveryJobs(sessions, fast_allowance_s),
    )
