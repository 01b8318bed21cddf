"""The workers that are running, each with the model presets it serves, from the heartbeat
each renews (every lease renewal): what /readyz and the metrics read."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import WorkerRow, utcnow


class WorkerRegistry:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def beat(self, worker_id: str, models: Sequence[str]) -> None:
        """The worker is alive now, serving `models`."""
        async with self.sessions() as session, session.begin():
            row = await session.get(WorkerRow, worker_id)
            if row is None:
                session.add(WorkerRow(worker_id=worker_id, models=list(models)))
            else:
                row.models, row.seen_at = list(models), utcnow()

    async def leave(self, worker_id: str) -> None:
        """The worker stopped cleanly."""
        async with self.sessions() as session, session.begin():
            await session.execute(delete(WorkerRow).where(WorkerRow.worker_id == worker_id))

    async def serving(self, seen_since: datetime) -> tuple[int, dict[str, int]]:
        """How many workers were heard from since `seen_since`, and how many of them serve
        each preset."""
        live = await self.live(seen_since)
        per_model: dict[str, int] = {}
        for worker in live:
            for model in worker.models:
                per_model[model] = per_model.get(model, 0) + 1
        return len(live), per_model

    async def live(self, seen_since: datetime) -> Sequence[WorkerRow]:
        """The workers heard from since `seen_since`."""
        async with self.sessions() as session:
            query = select(WorkerRow).where(WorkerRow.seen_at >= seen_since)
            return (await session.scalars(query.order_by(WorkerRow.worker_id))).all()
