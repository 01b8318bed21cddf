"""Appeals of blocked prompts, from filing to a moderator's decision."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import Appeal, AppealState, AuditRecord, utcnow

# The window the per-member appeal limit counts in.
APPEAL_WINDOW = timedelta(hours=24)


class AppealRepository:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def filed_since(self, user_id: int) -> int:
        """Appeals this user filed in the last 24 hours (the rate limit counts these)."""
        since = utcnow() - APPEAL_WINDOW
        async with self.sessions() as session:
            return int(
                await session.scalar(
                    select(func.count())
                    .select_from(Appeal)
                    .where(Appeal.user_id == user_id, Appeal.created_at >= since)
                )
                or 0
            )

    async def filed_in_guild(self, guild_id: int, since: datetime) -> int:
        """How many appeals a server's members filed since `since`."""
        query = select(func.count()).where(Appeal.guild_id == guild_id, Appeal.created_at >= since)
        async with self.sessions() as session:
            return int(await session.scalar(query) or 0)

    async def for_record(self, audit_id: int) -> Appeal | None:
        async with self.sessions() as session:
            return await session.scalar(select(Appeal).where(Appeal.audit_id == audit_id))

    async def file(self, record: AuditRecord, channel_id: int) -> Appeal:
        details = record.details or {}
        appeal = Appeal(
            audit_id=record.id,
            guild_id=record.guild_id,
            channel_id=channel_id,
            user_id=record.target_user_id,
            prompt=str(details.get("prompt", "")),
            category=details.get("category"),
            matched=list(details.get("matched", [])),
        )
        async with self.sessions() as session, session.begin():
            session.add(appeal)
        return appeal

    async def get(self, appeal_id: int) -> Appeal | None:
        async with self.sessions() as session:
            return await session.get(Appeal, appeal_id)

    async def set_review_message(self, appeal_id: int, message_id: int) -> None:
        async with self.sessions() as session, session.begin():
            await session.execute(
                update(Appeal).where(Appeal.id == appeal_id).values(review_message_id=message_id)
            )

    async def decide(self, appeal_id: int, state: AppealState, moderator_id: int) -> bool:
        """Close an open appeal; False if someone already decided it."""
        async with self.sessions() as session, session.begin():
            result = await session.execute(
                update(Appeal)
                .where(Appeal.id == appeal_id, Appeal.state == AppealState.OPEN)
                .values(state=state, decided_by=moderator_id, decided_at=utcnow())
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def erase(self, user_id: int) -> list[Appeal]:
        """/privacy delete: blank the prompt of every appeal `user_id` filed and withdraw
        the open ones; those withdrawn (their review cards need taking down)."""
        async with self.sessions() as session, session.begin():
            rows = list(await session.scalars(select(Appeal).where(Appeal.user_id == user_id)))
            withdrawn = []
            for appeal in rows:
                if appeal.state == AppealState.OPEN:
                    withdrawn.append(appeal)
                    appeal.state = AppealState.WITHDRAWN
                    appeal.decided_at = utcnow()
                appeal.prompt = ""
            return withdrawn

    async def waiting(self, guild_id: int, limit: int = 20) -> Sequence[Appeal]:
        async with self.sessions() as session:
            rows = await session.scalars(
                select(Appeal)
                .where(Appeal.guild_id == guild_id, Appeal.state == AppealState.OPEN)
                .order_by(Appeal.id)
                .limit(limit)
            )
            return rows.all()
