"""Progress with a latent preview: one UPDATE, so the bot never sees a preview without the
progress it belongs to.

Kept apart from db/jobs.py while that module is being reworked; it belongs in
JobRepository.set_progress (an optional `preview` argument) once that settles.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import Job, JobState, utcnow


async def set_progress_with_preview(
    sessions: async_sessionmaker[AsyncSession], job_id: int, percent: int, preview_sha256: str
) -> bool:
    """Record progress and the newest preview; False when the job is no longer running."""
    async with sessions() as session, session.begin():
        result = await session.execute(
            update(Job)
            .where(Job.id == job_id, Job.state == JobState.RUNNING)
            .values(progress=percent, preview_sha256=preview_sha256, heartbeat_at=utcnow())
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]
