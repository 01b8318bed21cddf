"""Each guild's own blocked and allowed terms (/mod terms)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import GuildTerm


class TooManyTerms(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"at most {limit} terms")
        self.limit = limit


class TermRepository:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def for_guild(self, guild_id: int | None) -> Sequence[GuildTerm]:
        if guild_id is None:
            return []
        async with self.sessions() as session:
            rows = await session.scalars(
                select(GuildTerm)
                .where(GuildTerm.guild_id == guild_id)
                .order_by(GuildTerm.category, GuildTerm.term)
            )
            return rows.all()

    async def add(
        self, guild_id: int, term: str, category: str, moderator_id: int, max_terms: int
    ) -> bool:
        """List `term`; False if it was listed, TooManyTerms if the guild has `max_terms`."""
        async with self.sessions() as session, session.begin():
            exists = await session.scalar(
                select(GuildTerm).where(
                    GuildTerm.guild_id == guild_id,
                    GuildTerm.term == term,
                    GuildTerm.category == category,
                )
            )
            if exists is None:
                count = await session.scalar(
                    select(func.count())
                    .select_from(GuildTerm)
                    .where(GuildTerm.guild_id == guild_id)
                )
                if (count or 0) >= max_terms:
                    raise TooManyTerms(max_terms)
                session.add(
                    GuildTerm(
                        guild_id=guild_id, term=term, category=category, added_by=moderator_id
                    )
                )
            return exists is None

    async def remove(self, guild_id: int, term: str) -> int:
        async with self.sessions() as session, session.begin():
            result = await session.execute(
                delete(GuildTerm).where(GuildTerm.guild_id == guild_id, GuildTerm.term == term)
            )
            return int(result.rowcount)  # type: ignore[attr-defined]
