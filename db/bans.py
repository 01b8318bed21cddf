"""Bans and time-outs: who may not generate where, and until when."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.audit import audit_entry
from db.models import Ban, utcnow

EVERYWHERE = 0


class BanRepository:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def ban(
        self,
        guild_id: int,
        user_id: int,
        reason: str,
        moderator_id: int,
        expires_at: datetime | None = None,
    ) -> bool:
        """Ban a user in a guild (until `expires_at`, or until lifted) and audit it.

        False if a ban already applied there; it is then replaced by this one.
        """
        async with self.sessions() as session, session.begin():
            found = await session.scalar(
                select(Ban).where(Ban.guild_id == guild_id, Ban.user_id == user_id)
            )
            was_active = found is not None and _in_force(found)
            if found is None:
                found = Ban(guild_id=guild_id, user_id=user_id)
                session.add(found)
            found.reason, found.moderator_id, found.expires_at = reason, moderator_id, expires_at
            found.created_at = utcnow()
            action = "ban" if expires_at is None else "timeout"
            details = {} if expires_at is None else {"until": expires_at.isoformat()}
            session.add(audit_entry(guild_id, moderator_id, user_id, action, reason, details))
            return not was_active

    async def unban(self, guild_id: int, user_id: int, moderator_id: int, reason: str = "") -> bool:
        async with self.sessions() as session, session.begin():
            result = await session.execute(
                delete(Ban).where(Ban.guild_id == guild_id, Ban.user_id == user_id)
            )
            session.add(audit_entry(guild_id, moderator_id, user_id, "unban", reason))
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def active_ban(self, guild_id: int | None, user_id: int) -> Ban | None:
        """The ban that applies to this user here (a guild ban or a global one)."""
        guilds = {EVERYWHERE} if guild_id is None else {EVERYWHERE, guild_id}
        async with self.sessions() as session:
            bans = await session.scalars(
                select(Ban).where(Ban.user_id == user_id, Ban.guild_id.in_(guilds))
            )
            return next((ban for ban in bans if _in_force(ban)), None)


def _in_force(ban: Ban) -> bool:
    return ban.expires_at is None or ban.expires_at > utcnow()
