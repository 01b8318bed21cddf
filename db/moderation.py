"""Moderator configuration and the appeal queue: review channel, guild terms, appeals."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import tickets
from db.models import Appeal, AppealState, AuditRecord, GuildSettings, GuildTerm, utcnow


@dataclass(frozen=True)
class GuildRules:
    """A guild's choices for jobs made in it; None limits mean the deployment's."""

    allow_stealth: bool = True
    max_running_jobs: int | None = None
    max_queued_jobs: int | None = None


def within_deployment(guild_limit: int | None, deployment_limit: int) -> int:
    """The limit in force: a guild may tighten the deployment's limit, never raise it (the
    workers are shared by every server the bot is on)."""
    return min(guild_limit or deployment_limit, deployment_limit)


APPEAL_WINDOW = timedelta(hours=24)


class ModerationRepository:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def review_channel(self, guild_id: int | None) -> int | None:
        if guild_id is None:
            return None
        async with self.sessions() as session:
            row = await session.get(GuildSettings, guild_id)
            return row.review_channel_id if row else None

    async def set_review_channel(self, guild_id: int, channel_id: int) -> None:
        await self._change_guild(guild_id, review_channel_id=channel_id)

    async def allows_stealth(self, guild_id: int | None) -> bool:
        """Whether members' stealth setting applies in this guild (always in DMs)."""
        return (await self.rules(guild_id)).allow_stealth

    async def set_allow_stealth(self, guild_id: int, allow: bool) -> None:
        await self._change_guild(guild_id, allow_stealth=allow)

    async def queue_paused(self, guild_id: int | None) -> bool:
        """Whether moderators paused this guild's queue (never in DMs)."""
        if guild_id is None:
            return False
        async with self.sessions() as session:
            row = await session.get(GuildSettings, guild_id)
            return row is not None and row.queue_paused

    async def set_queue_paused(self, guild_id: int, paused: bool) -> None:
        await self._change_guild(guild_id, queue_paused=paused)

    async def rules(self, guild_id: int | None) -> GuildRules:
        """What this guild set for jobs made in it, in one read (DMs: the defaults)."""
        if guild_id is None:
            return GuildRules()
        async with self.sessions() as session:
            row = await session.get(GuildSettings, guild_id)
        if row is None:
            return GuildRules()
        return GuildRules(row.allow_stealth, row.max_running_jobs, row.max_queued_jobs)

    async def set_job_limits(self, guild_id: int, **limits: int | None) -> None:
        """Set `max_running_jobs` and/or `max_queued_jobs` (None: back to the deployment's)."""
        await self._change_guild(guild_id, **limits)

    async def _change_guild(self, guild_id: int, **values: Any) -> None:
        async with self.sessions() as session, session.begin():
            row = await session.get(GuildSettings, guild_id)
            if row is None:
                session.add(GuildSettings(guild_id=guild_id, **values))
            else:
                for name, value in values.items():
                    setattr(row, name, value)
            if values.get("queue_paused") is False or "max_running_jobs" in values:
                # Jobs held back by the pause or the old limit may start now.
                await session.flush()
                await tickets.for_guild(session, guild_id)

    async def terms(self, guild_id: int | None) -> Sequence[GuildTerm]:
        if guild_id is None:
            return []
        async with self.sessions() as session:
            rows = await session.scalars(
                select(GuildTerm)
                .where(GuildTerm.guild_id == guild_id)
                .order_by(GuildTerm.category, GuildTerm.term)
            )
            return rows.all()

    async def add_term(self, guild_id: int, term: str, category: str, moderator_id: int) -> bool:
        async with self.sessions() as session, session.begin():
            exists = await session.scalar(
                select(GuildTerm).where(
                    GuildTerm.guild_id == guild_id,
                    GuildTerm.term == term,
                    GuildTerm.category == category,
                )
            )
            if exists is None:
                session.add(
                    GuildTerm(
                        guild_id=guild_id, term=term, category=category, added_by=moderator_id
                    )
                )
            return exists is None

    async def remove_term(self, guild_id: int, term: str) -> int:
        async with self.sessions() as session, session.begin():
            result = await session.execute(
                delete(GuildTerm).where(GuildTerm.guild_id == guild_id, GuildTerm.term == term)
            )
            return int(result.rowcount)  # type: ignore[attr-defined]

    async def appeals_since(self, user_id: int) -> int:
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

    async def appeal_for_record(self, audit_id: int) -> Appeal | None:
        async with self.sessions() as session:
            return await session.scalar(select(Appeal).where(Appeal.audit_id == audit_id))

    async def file_appeal(self, record: AuditRecord, channel_id: int) -> Appeal:
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

    async def get_appeal(self, appeal_id: int) -> Appeal | None:
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

    async def open_appeals(self, guild_id: int, limit: int = 20) -> Sequence[Appeal]:
        async with self.sessions() as session:
            rows = await session.scalars(
                select(Appeal)
                .where(Appeal.guild_id == guild_id, Appeal.state == AppealState.OPEN)
                .order_by(Appeal.id)
                .limit(limit)
            )
            return rows.all()
