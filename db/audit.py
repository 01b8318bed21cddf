"""The moderation audit log: every decision, automatic or human, kept with its details.
A member's /privacy delete keeps the records (they belong to the servers' moderation) but
strips what is theirs beyond what moderation needs: prompt text and channel (ANONYMISED)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import AuditRecord

# Detail keys that hold a member's own words or whereabouts, dropped when they erase their
# data; kept: the category, the matched terms, whether it was appealable, job ids.
ANONYMISED = ("prompt", "channel_id")


class AuditLog:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

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
            record = audit_entry(guild_id, actor_id, target_user_id, action, reason, details)
            session.add(record)
            await session.flush()
            return record.id

    async def get(self, record_id: int) -> AuditRecord | None:
        async with self.sessions() as session:
            return await session.get(AuditRecord, record_id)

    async def count(
        self, guild_id: int | None, user_id: int, action: str, since: datetime | None = None
    ) -> int:
        """How many `action` records a member has here (since `since`, if given)."""
        query = select(func.count()).where(
            AuditRecord.guild_id == guild_id,
            AuditRecord.target_user_id == user_id,
            AuditRecord.action == action,
        )
        if since is not None:
            query = query.where(AuditRecord.created_at >= since)
        async with self.sessions() as session:
            return int(await session.scalar(query) or 0)

    async def for_member(self, guild_id: int | None, user_id: int) -> list[AuditRecord]:
        async with self.sessions() as session:
            rows = await session.scalars(
                select(AuditRecord)
                .where(AuditRecord.guild_id == guild_id, AuditRecord.target_user_id == user_id)
                .order_by(AuditRecord.id)
            )
            return list(rows)

    async def for_job(self, guild_id: int | None, job_id: int) -> list[AuditRecord]:
        """Records about one job (moderator cancels and deletes, withheld results)."""
        async with self.sessions() as session:
            rows = await session.scalars(
                select(AuditRecord)
                .where(AuditRecord.guild_id == guild_id)
                .order_by(AuditRecord.id.desc())
                .limit(2000)
            )
            return [r for r in reversed(list(rows)) if (r.details or {}).get("job") == job_id]

    async def count_in_guild(self, guild_id: int, action: str, since: datetime) -> int:
        """How many `action` records a server has since `since`."""
        query = select(func.count()).where(
            AuditRecord.guild_id == guild_id,
            AuditRecord.action == action,
            AuditRecord.created_at >= since,
        )
        async with self.sessions() as session:
            return int(await session.scalar(query) or 0)

    async def latest(self, action: str, target_user_id: int) -> datetime | None:
        """When `action` was last recorded about a member, in any server (None: never)."""
        async with self.sessions() as session:
            return await session.scalar(
                select(func.max(AuditRecord.created_at)).where(
                    AuditRecord.action == action, AuditRecord.target_user_id == target_user_id
                )
            )

    async def anonymise(self, user_id: int) -> int:
        """Drop the ANONYMISED details of every record about `user_id`; how many changed."""
        changed = 0
        async with self.sessions() as session, session.begin():
            rows = await session.scalars(
                select(AuditRecord).where(AuditRecord.target_user_id == user_id)
            )
            for record in rows:
                details = dict(record.details or {})
                if any(key in details for key in ANONYMISED):
                    record.details = {k: v for k, v in details.items() if k not in ANONYMISED}
                    changed += 1
        return changed


def audit_entry(
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
