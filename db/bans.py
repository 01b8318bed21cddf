"""Ban repository and the moderation audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import AuditRecord, Ban, utcnow

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
            session.add(_audit(guild_id, moderator_id, user_id, action, reason, details))
            return not was_active

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
            bans = await session.scalars(
                select(Ban).where(Ban.user_id == user_id, Ban.guild_id.in_(guilds))
            )
            return next((ban for ban in bans if _in_force(ban)), None)

    async def record(
        self,
        guild_id: int | None,
        actor_id: int | None,
        target_user_id: int | None,
        action: str,
        reason: str = "",
        details: dict[str, Any] | None = None,
    ) -> int:
        """Add an audit record; returns its id."""
        async with self.sessions() as session, session.begin():
            record = _audit(guild_id, actor_id, target_user_id, action, reason, details)
            session.add(record)
            await session.flush()
            return record.id

    async def audit_record(self, record_id: int) -> AuditRecord | None:
        async with self.sessions() as session:
            return await session.get(AuditRecord, record_id)

    async def count(self, guild_id: int | None, user_id: int, action: str) -> int:
        async with self.sessions() as session:
            return int(
                await session.scalar(
                    select(func.count())
                    .select_from(AuditRecord)
                    .where(
                        AuditRecord.guild_id == guild_id,
                        AuditRecord.target_user_id == user_id,
                        AuditRecord.action == action,
                    )
                )
                or 0
            )

    async def audit_for(self, guild_id: int | None, user_id: int) -> list[AuditRecord]:
        async with self.sessions() as session:
            rows = await session.scalars(
                select(AuditRecord)
                .where(AuditRecord.guild_id == guild_id, AuditRecord.target_user_id == user_id)
                .order_by(AuditRecord.id)
            )
            return list(rows)

    async def audit_for_job(self, guild_id: int | None, job_id: int) -> list[AuditRecord]:
        """Records about one job (moderator cancels and deletes, withheld results)."""
        async with self.sessions() as session:
            rows = await session.scalars(
                select(AuditRecord)
                .where(AuditRecord.guild_id == guild_id)
                .order_by(AuditRecord.id.desc())
                .limit(2000)
            )
            return [r for r in reversed(list(rows)) if (r.details or {}).get("job") == job_id]


def _in_force(ban: Ban) -> bool:
    return ban.expires_at is None or ban.expires_at > utcnow()


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
