"""The web companion's listings: a member's gallery and a server's public gallery, newest
first, a page at a time from a job id down (keyset: page 400 costs what page 1 costs), with
filters (favourites, model, words in the prompt). Deleted jobs never appear; a server's
gallery holds only finished, public (not stealth) jobs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import Job, JobState


@dataclass(frozen=True)
class GalleryFilter:
    favourites: bool = False
    model: str | None = None
    text: str | None = None  # words the prompt must contain (case-insensitive)


class GalleryJobs:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def of_member(
        self, user_id: int, found: GalleryFilter, before: int | None, limit: int
    ) -> Sequence[Job]:
        """The member's own jobs (stealth ones too), newest first, below job id `before`."""
        return await self._page([Job.user_id == user_id, *_filtered(found)], before, limit)

    async def of_server(
        self, guild_id: int, found: GalleryFilter, before: int | None, limit: int
    ) -> Sequence[Job]:
        """Everyone's finished public jobs made in the server, newest first."""
        public = [Job.guild_id == guild_id, Job.stealth.is_(False), Job.state == JobState.DONE]
        return await self._page([*public, *_filtered(found, favourites=False)], before, limit)

    async def children(self, job_id: int, limit: int = 50) -> Sequence[Job]:
        """The jobs made from a job (its upscales, variations, rerolls...), oldest first."""
        query = (
            select(Job)
            .where(Job.parent_id == job_id, Job.deleted_at.is_(None))
            .order_by(Job.id)
            .limit(limit)
        )
        async with self.sessions() as session:
            return (await session.scalars(query)).all()

    async def _page(
        self, conditions: list[ColumnElement[bool]], before: int | None, limit: int
    ) -> Sequence[Job]:
        if before is not None:
            conditions.append(Job.id < before)
        query = (
            select(Job)
            .where(Job.deleted_at.is_(None), *conditions)
            .order_by(Job.id.desc())
            .limit(limit)
        )
        async with self.sessions() as session:
            return (await session.scalars(query)).all()


def _filtered(found: GalleryFilter, favourites: bool = True) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if favourites and found.favourites:
        conditions.append(Job.favourite.is_(True))
    if found.model:
        conditions.append(Job.model == found.model)
    for word in (found.text or "").split()[:8]:
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conditions.append(Job.prompt.ilike(f"%{escaped}%", escape="\\"))
    return conditions
