"""/settings and /prefer without Discord: a member's prompt defaults, applied under the flags
they type.

Order, lowest first: built-in defaults < /settings < /prefer suffix < /prefer options used in
the prompt (`--name`) < the prompt's own flags.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from db import GuildRepository, Prefs, PrefsRepository, TooManyOptions
from inference.capabilities import skipped
from inference.presets import Preset
from inference.prompt import PromptDefaults, PromptError, parse, validate_option, validate_suffix
from services.errors import InvalidParameter, UserFacingError

# Each /settings menu besides the model: request field -> (name, [(label, stored value)]).
MENUS: dict[str, tuple[str, list[tuple[str, Any]]]] = {
    "stylize": (
        "Stylize",
        [
            ("Stylize Low (50)", 50),
            ("Stylize Med (100)", 100),
            ("Stylize High (250)", 250),
            ("Stylize Very High (750)", 750),
        ],
    ),
    "quality": (
        "Quality",
        [("Quality .25", 0.25), ("Quality .5", 0.5), ("Quality 1", 1.0), ("Quality 2", 2.0)],
    ),
    "lane": ("Speed", [("Fast mode", "fast"), ("Relax mode", "relax")]),
}
MAX_OPTIONS = 25  # saved /prefer options per member
# The /settings switches: field -> (label when off, label when on).
TOGGLES = {"remix": ("Remix mode", "Remix mode ✓"), "stealth": ("Public mode", "Stealth mode")}


class Preferences:
    def __init__(
        self, prefs: PrefsRepository, guilds: GuildRepository, presets: Mapping[str, Preset]
    ) -> None:
        self.prefs = prefs
        self.guilds = guilds
        self.presets = presets
        self.models = list(presets)  # the presets members may pick; the first is the default

    def skipped(self, prefs: Prefs) -> list[str]:
        """The member's /settings and /prefer suffix flags their model skips (a prompt that
        types one is refused instead); [] when their defaults no longer parse (reported
        when they /imagine)."""
        preset = self.presets.get(prefs.model or self.models[0])
        if preset is None:
            return []
        try:
            request = parse("x", PromptDefaults(settings=prefs.settings, suffix=prefs.suffix))
        except PromptError:
            return []
        return skipped(preset, request)

    async def get(self, user_id: int) -> Prefs:
        return await self.prefs.get(user_id)

    async def stealth_allowed(self, guild_id: int | None) -> bool:
        """Whether members' stealth setting applies in this guild."""
        return await self.guilds.allows_stealth(guild_id)

    async def choose(self, user_id: int, field: str, raw: str) -> Prefs:
        """Set a /settings menu's value from the text of its choice."""
        if field == "model":
            if raw not in self.models:
                raise UserFacingError(f"{raw!r} is not a model choice.")
            return await self.prefs.set_model(user_id, raw)
        choices = {str(value): value for _, value in MENUS[field][1]}
        if raw not in choices:
            raise UserFacingError(f"{raw!r} is not a {field} choice.")
        return await self.prefs.set_setting(user_id, field, choices[raw])

    async def toggle(self, user_id: int, field: str) -> Prefs:
        """Flip remix or stealth."""
        current = await self.prefs.get(user_id)
        if field == "remix":
            return await self.prefs.set_remix(user_id, not current.remix)
        return await self.prefs.set_stealth(user_id, not current.stealth)

    async def set_lane(self, user_id: int, lane: str) -> None:
        await self.prefs.set_setting(user_id, "lane", lane)

    async def save_option(self, user_id: int, name: str, value: str) -> tuple[str, str]:
        """Save flags under `--name`; the normalised name and flags."""
        try:
            key, flags = validate_option(name, value)
        except PromptError as error:
            raise InvalidParameter(error.message, error.code, value) from error
        try:
            await self.prefs.set_option(user_id, key, flags, max_options=MAX_OPTIONS)
        except TooManyOptions as full:
            raise UserFacingError(
                f"You already have {full.limit} saved options, the most one member may keep; "
                f"--{key} was not saved.",
                hint="Delete one with /prefer option delete, or change an existing one.",
            ) from None
        return key, flags

    async def options(self, user_id: int) -> dict[str, str]:
        return dict((await self.prefs.get(user_id)).options)

    async def delete_option(self, user_id: int, name: str) -> tuple[str, bool]:
        """Forget `--name`; the normalised name and whether it existed."""
        key = name.strip().lower().lstrip("-")
        return key, await self.prefs.delete_option(user_id, key)

    async def set_suffix(self, user_id: int, value: str) -> str:
        """Flags added to every prompt (empty: none); the normalised flags."""
        try:
            flags = validate_suffix(value) if value.strip() else ""
        except PromptError as error:
            raise InvalidParameter(error.message, error.code, value) from error
        await self.prefs.set_suffix(user_id, flags)
        return flags
