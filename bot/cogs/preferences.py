"""/settings, /fast, /relax and /prefer: a member's prompt defaults (services.preferences)."""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import ImagineBot
from bot.cogs.history import fast_time
from bot.ui.settings import MENU, TOGGLE, settings_text, settings_view
from db import Prefs
from services.errors import NotYourJob

Interaction = discord.Interaction[Any]


class Preferences(commands.Cog):
    prefer = app_commands.Group(name="prefer", description="Your prompt defaults")
    option = app_commands.Group(name="option", description="Named flag bundles", parent=prefer)

    def __init__(self, bot: ImagineBot) -> None:
        self.bot = bot
        self.preferences = bot.services.preferences

    async def _shown(self, interaction: Interaction, prefs: Prefs) -> tuple[str, discord.ui.View]:
        models = self.preferences.models
        here = await self.preferences.stealth_allowed(interaction.guild_id)
        text = settings_text(prefs, models, here, self.preferences.skipped(prefs))
        return text, settings_view(interaction.user.id, prefs, models)

    @app_commands.command(
        name="settings", description="Your model, stylize, quality, speed, remix and visibility"
    )
    async def settings(self, interaction: Interaction) -> None:
        prefs = await self.preferences.get(interaction.user.id)
        text, view = await self._shown(interaction, prefs)
        await interaction.response.send_message(text, view=view, ephemeral=True)

    async def chosen(self, interaction: Interaction, fields: dict[str, Any]) -> None:
        """A /settings menu; keeps working after restarts (state in the custom_id and DB)."""
        if interaction.user.id != fields["user"]:
            raise NotYourJob()
        raw = str(((interaction.data or {}).get("values") or [""])[0])  # type: ignore[index]
        prefs = await self.preferences.choose(fields["user"], fields["field"], raw)
        text, view = await self._shown(interaction, prefs)
        await interaction.response.edit_message(content=text, view=view)

    async def toggled(self, interaction: Interaction, fields: dict[str, Any]) -> None:
        """Remix on/off and public/stealth: a click flips the stored value."""
        if interaction.user.id != fields["user"]:
            raise NotYourJob()
        prefs = await self.preferences.toggle(fields["user"], fields["field"])
        text, view = await self._shown(interaction, prefs)
        await interaction.response.edit_message(content=text, view=view)

    @app_commands.command(
        name="fast", description="Run your jobs in the fast lane (uses fast time)"
    )
    async def fast(self, interaction: Interaction) -> None:
        await self._set_lane(interaction, "fast")

    @app_commands.command(
        name="relax", description="Run your jobs in the relax lane (free, slower)"
    )
    async def relax(self, interaction: Interaction) -> None:
        await self._set_lane(interaction, "relax")

    async def _set_lane(self, interaction: Interaction, lane: str) -> None:
        await self.preferences.set_lane(interaction.user.id, lane)
        left = await self.bot.services.history.fast_left(interaction.user.id)
        what = (
            "Fast mode on: your jobs go first while you have fast time"
            if lane == "fast"
            else "Relax mode on: your jobs wait for the fast lane and spend no fast time"
        )
        allowance = fast_time(left, self.bot.settings.fast_allowance_s)
        await interaction.response.send_message(
            f"{what} (fast time left today: {allowance}). `--fast` or `--relax` in a prompt "
            "still wins.",
            ephemeral=True,
        )

    @option.command(name="set", description="Save flags under a name; use it with --name")
    @app_commands.describe(
        name="e.g. mine (then write --mine)", value="flags, e.g. --ar 16:9 --s 250"
    )
    async def option_set(self, interaction: Interaction, name: str, value: str) -> None:
        key, flags = await self.preferences.save_option(interaction.user.id, name, value)
        await interaction.response.send_message(
            f"Saved `--{key}` = `{flags}`. Add `--{key}` to a prompt to use it.", ephemeral=True
        )

    @option.command(name="list", description="Show your saved options")
    async def option_list(self, interaction: Interaction) -> None:
        options = await self.preferences.options(interaction.user.id)
        lines = [f"`--{name}` = `{flags}`" for name, flags in sorted(options.items())]
        text = "\n".join(lines) or "You have no saved options. Add one with /prefer option set."
        await interaction.response.send_message(text, ephemeral=True)

    @option.command(name="delete", description="Forget a saved option")
    async def option_delete(self, interaction: Interaction, name: str) -> None:
        key, deleted = await self.preferences.delete_option(interaction.user.id, name)
        text = f"Deleted `--{key}`." if deleted else f"You have no option `--{key}`."
        await interaction.response.send_message(text, ephemeral=True)

    @prefer.command(name="suffix", description="Flags added to every prompt (leave empty to clear)")
    @app_commands.describe(value="flags only, e.g. --ar 3:2 --s 250")
    async def suffix(self, interaction: Interaction, value: str = "") -> None:
        flags = await self.preferences.set_suffix(interaction.user.id, value)
        text = f"Suffix set to `{flags}`." if flags else "Suffix cleared."
        await interaction.response.send_message(text, ephemeral=True)


async def setup(bot: ImagineBot) -> None:
    preferences = Preferences(bot)
    bot.router.add(MENU, preferences.chosen)
    bot.router.add(TOGGLE, preferences.toggled)
    await bot.add_cog(preferences)
