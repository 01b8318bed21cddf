"""Each guild's own settings: its review channel, whether stealth applies, a paused queue,
its per-member job limits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import tickets
from db.models import GuildSettings


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


class GuildRepository:
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
