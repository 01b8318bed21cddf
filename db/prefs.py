"""Per-user prompt defaults (/settings, /prefer suffix, /prefer option)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import UserPrefs


@dataclass(frozen=True)
class Prefs:
    """A snapshot of one user's defaults; empty for a user who never set any."""

    settings: dict[str, Any] = field(default_factory=dict)
    suffix: str = ""
    options: dict[str, str] = field(default_factory=dict)
    model: str | None = None  # None: the deployment's default preset
    remix: bool = False
    stealth: bool = False

    @classmethod
    def of(cls, row: UserPrefs) -> Prefs:
        return cls(
            dict(row.settings), row.suffix, dict(row.options), row.model, row.remix, row.stealth
        )


class TooManyOptions(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"at most {limit} options")
        self.limit = limit


class PrefsRepository:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def get(self, user_id: int) -> Prefs:
        async with self.sessions() as session:
            row = await session.get(UserPrefs, user_id)
            return Prefs() if row is None else Prefs.of(row)

    async def set_setting(self, user_id: int, name: str, value: Any) -> Prefs:
        """Set one /settings value; None removes it (back to the built-in default)."""

        def change(row: UserPrefs) -> None:
            settings = dict(row.settings)
            if value is None:
                settings.pop(name, None)
            else:
                settings[name] = value
            row.settings = settings

        return await self._change(user_id, change)

    async def set_model(self, user_id: int, model: str | None) -> Prefs:
        return await self._change(user_id, lambda row: setattr(row, "model", model))

    async def set_remix(self, user_id: int, remix: bool) -> Prefs:
        return await self._change(user_id, lambda row: setattr(row, "remix", remix))

    async def set_stealth(self, user_id: int, stealth: bool) -> Prefs:
        return await self._change(user_id, lambda row: setattr(row, "stealth", stealth))

    async def set_suffix(self, user_id: int, suffix: str) -> Prefs:
        return await self._change(user_id, lambda row: setattr(row, "suffix", suffix))

    async def set_option(
        self, user_id: int, name: str, flags: str, max_options: int | None = None
    ) -> Prefs:
        """Save option `name`; TooManyOptions if it is new and the member already has
        `max_options` (checked on the row being changed, so concurrent saves cannot pass it)."""

        def change(row: UserPrefs) -> None:
            full = max_options is not None and len(row.options) >= max_options
            if full and name not in row.options:
                raise TooManyOptions(len(row.options))
            row.options = {**row.options, name: flags}

        return await self._change(user_id, change)

    async def delete_option(self, user_id: int, name: str) -> bool:
        existed = name in (await self.get(user_id)).options

        def change(row: UserPrefs) -> None:
            row.options = {k: v for k, v in row.options.items() if k != name}

        await self._change(user_id, change)
        return existed

    async def forget(self, user_id: int) -> None:
        async with self.sessions() as session, session.begin():
            row = await session.get(UserPrefs, user_id)
            if row is not None:
                await session.delete(row)

    async def _change(self, user_id: int, change: Any) -> Prefs:
        try:
            return await self._change_row(user_id, change)
        except IntegrityError:  # a concurrent first change made the row: change that one
            return await self._change_row(user_id, change)

    async def _change_row(self, user_id: int, change: Any) -> Prefs:
        async with self.sessions() as session, session.begin():
            # Locked on PostgreSQL (SQLite writes one transaction at a time anyway).
            row = await session.get(UserPrefs, user_id, with_for_update=True)
            if row is None:
                row = UserPrefs(
                    user_id=user_id, settings={}, suffix="", options={}, remix=False, stealth=False
                )
                session.add(row)
            change(row)
            return Prefs.of(row)
