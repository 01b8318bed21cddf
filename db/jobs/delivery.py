"""The jobs table as the bot's delivery sees it: messages to bring up to date, queue places,
results posted exactly once."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.fairshare import queue_order
from db.jobs.common import (
    ACTIVE_STATES,
    ENDED_STATES,
    fail_job,
    update_job,
)
from db.jobs.scheduling import (
    PAUSED,
    standing,
)
from db.models import GuildSettings, Job, JobState, utcnow


class DeliveryJobs:
    """What the bot's delivery asks of the jobs table: which messages are behind, where each
    job's message is, what it shows, queue places, and that a result was posted (once)."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], fast_allowance_s: float | None = None
    ) -> None:
        self.sessions = sessions
        self.fast_allowance_s = fast_allowance_s

    async def needing_delivery(self) -> Sequence[Job]:
        """Jobs whose message is behind: new progress to show, or an ended job not delivered."""
        async with self.sessions() as session:
            return (
                await session.scalars(
                    select(Job)
                    .where(
                        or_(
                            Job.state.in_(ACTIVE_STATES) & (Job.progress != Job.shown_progress),
                            Job.state.in_(ENDED_STATES) & Job.delivered_at.is_(None),
                        )
                    )
                    .order_by(Job.id)
                )
            ).all()

    async def unposted(self) -> Sequence[Job]:
        """Jobs made off Discord (the web companion's Vary (Region)) that have no message
        yet: the bot posts them in their channel."""
        async with self.sessions() as session:
            return (
                await session.scalars(
                    select(Job)
                    .where(
                        Job.interaction_id.is_(None),
                        Job.message_id.is_(None),
                        Job.delivered_at.is_(None),
                        Job.deleted_at.is_(None),
                    )
                    .order_by(Job.id)
                    .limit(50)
                )
            ).all()

    async def attach_message(
        self, job_id: int, message_id: int, token: str, token_expires_at: datetime
    ) -> None:
        """Record the message that shows the job and the interaction token that can edit it;
        if the member erased the job meanwhile, the message only (/privacy delete keeps no
        token, and the message must still lose its buttons)."""
        async with self.sessions() as session, session.begin():
            await session.execute(update(Job).where(Job.id == job_id).values(message_id=message_id))
            await session.execute(
                update(Job)
                .where(Job.id == job_id, Job.deleted_at.is_(None))
                .values(interaction_token=token, token_expires_at=token_expires_at)
            )

    async def mark_shown(self, job_id: int, progress: int) -> None:
        await update_job(self.sessions, job_id, shown_progress=progress)

    async def mark_place_shown(self, job_id: int, place: int) -> None:
        await update_job(self.sessions, job_id, shown_place=place)

    async def mark_delivered(self, job_id: int, result_message_id: int | None) -> bool:
        """Record the post; False if another delivery got there first (then don't post again)."""
        async with self.sessions() as session, session.begin():
            result = await session.execute(
                update(Job)
                .where(Job.id == job_id, Job.delivered_at.is_(None))
                .values(delivered_at=utcnow(), result_message_id=result_message_id)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def mark_undeliverable(self, job_id: int, reason: str) -> bool:
        """Give up posting for good (the channel is gone or closed to the bot), with why;
        False if a delivery got there first."""
        async with self.sessions() as session, session.begin():
            result = await session.execute(
                update(Job)
                .where(Job.id == job_id, Job.delivered_at.is_(None))
                .values(delivered_at=utcnow(), delivery_error=reason)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def queue(self) -> list[tuple[Job, int]]:
        """Queued jobs that have a message, each with its place in the queue (1 = next), as
        the fair-share order predicts it (db.fairshare.queue_order), or PAUSED."""
        async with self.sessions() as session:
            jobs = list(
                await session.scalars(
                    select(Job).where(Job.state == JobState.QUEUED, Job.message_id.is_not(None))
                )
            )
            if not jobs:
                return []
            candidates, usage, running = await standing(session, self.fast_allowance_s)
            paused = set(
                await session.scalars(
                    select(GuildSettings.guild_id).where(GuildSettings.queue_paused)
                )
            )
            places = {
                job_id: n for n, job_id in enumerate(queue_order(candidates, usage, running), 1)
            }
        # A job missing from both started between the two reads: the next sweep sees it.
        return [
            (job, PAUSED if job.guild_id in paused else places[job.id])
            for job in jobs
            if job.guild_id in paused or job.id in places
        ]

    async def recent_render_seconds(self, last: int = 20) -> dict[str, float]:
        """Per model, the median render time of its last `last` finished jobs."""
        async with self.sessions() as session:
            ranked = (
                select(
                    Job.model,
                    Job.gpu_seconds,
                    func.row_number()
                    .over(partition_by=Job.model, order_by=Job.finished_at.desc())
                    .label("n"),
                )
                .where(Job.state == JobState.DONE, Job.finished_at.is_not(None))
                .subquery()
            )
            rows = await session.execute(
                select(ranked.c.model, ranked.c.gpu_seconds).where(ranked.c.n <= last)
            )
            seconds: dict[str, list[float]] = {}
            for model, spent in rows:
                seconds.setdefault(model, []).append(spent)
        return {model: statistics.median(times) for model, times in seconds.items()}

    async def running_previews(self) -> set[str]:
        """The latent previews running jobs' messages show now."""
        async with self.sessions() as session:
            previews = await session.scalars(
                select(Job.preview_sha256).where(
                    Job.state == JobState.RUNNING, Job.preview_sha256.is_not(None)
                )
            )
            return {digest for digest in previews if digest is not None}

    async def refused(self, job_id: int, error: str) -> None:
        """Discord would not take the job's message: the job fails with why (it is not
        rendered for nobody to see)."""
        await fail_job(self.sessions, job_id, error)
