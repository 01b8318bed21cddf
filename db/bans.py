"""Ban repository and the moderation audit log."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import AuditRecord, Ban

EVERYWHERE = 0


class BanRepository:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def ban(self, guild_id: int, user_id: int, reason: str, moderator_id: int) -> bool:
        """Ban a user in a guild and audit it; False if they were already banned there."""
        async with self.sessions() as session, session.begin():
            found = await session.scalar(
                select(Ban).where(Ban.guild_id == guild_id, Ban.user_id == user_id)
            )
            if found is None:
                session.add(
                    Ban(
                        guild_id=guild_id, user_id=user_id, reason=reason, moderator_id=moderator_id
                    )
                )
            session.add(_audit(guild_id, moderator_id, user_id, "ban", reason))
            return found is None

    async def unban(self, guild_id: int, user_id: int, moderator_id: int, reason: str = "") -> bool:
        async with self.sessions() as session, session.begin():
            result = await session.execute(
                delete(Ban).where(Ban.guild_id == guild_id, Ban.user_id == user_id)
            )
            session.add(_audit(guild_id, moderator_id, user_id, "unban", reason))
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def active_ban(self, guild_id: int | None, user_id: int) -> Ban | None:
        """The ban that applies to this user here (a guild ban or a global one)."""
        guilds = {EVERYWHERE} if guild_id is None else {EVERYWHERE, guild_id}
        async with self.sessions() as session:
            return await session.scalar(
                select(Ban).where(Ban.user_id == user_id, Ban.guild_id.in_(guilds)).limit(1)
            )

    async def record(
        self,
        guild_id: int | None,
        actor_id: int | None,
        target_user_id: int | None,
        action: str,
        reason: str = "",
        details: dict[str, Any] | None = None,
    ) -> None:
        async with self.sessions() as session, session.begin():
            session.add(_audit(guild_id, actor_id, target_user_id, action, reason, details))

    async def audit_for(self, guild_id: int | None, user_id: int) -> list[AuditRecord]:
        async with self.sessions() as session:
            rows = await session.scalars(
                select(AuditRecord)
                .where(AuditRecord.guild_id == guild_id, AuditRecord.target_user_id == user_id)
                .order_by(AuditRecord.id)
            )
            return list(rows)


def _audit(
    guild_id: int | None,
    actor_id: int | None,
    target_user_id: int | None,
    action: str,
    reason: str,
    details: dict[str, Any] | None = None,
) -> AuditRecord:
    return AuditRecord(
        guild_id=guild_id,
        actor_id=actor_id,
        target_user_id=target_user_id,
        action=action,
        reason=reason,
        details=details or {},
    )
