"""/settings and /prefer: a member's prompt defaults, applied under the flags they type.

Order, lowest first: built-in defaults < /settings < /prefer suffix < /prefer options used in
the prompt (`--name`) < the prompt's own flags.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ui import Button, DynamicItem, Select, View

from bot.errors import InvalidParameter, NotYourJob, UserFacingError
from bot.render import error_embed
from db import Prefs
from inference.prompt import PromptError, validate_option, validate_suffix

if TYPE_CHECKING:
    from bot.app import ImagineBot

Interaction = discord.Interaction["ImagineBot"]

# Each /settings menu: request field -> (placeholder, [(label, stored value)]).
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


def settings_text(prefs: Prefs, models: list[str], stealth_here: bool = True) -> str:
    flags = ", ".join(f"{k} {v}" for k, v in sorted(prefs.settings.items())) or "built-in defaults"
    visibility = "stealth" if prefs.stealth else "public"
    if prefs.stealth and not stealth_here:
        visibility += " (off on this server: your jobs here are public)"
    return (
        f"**Your settings:** model {prefs.model or models[0]}, {flags}; "
        f"remix {'on' if prefs.remix else 'off'}; {visibility}. "
        "Flags typed in a prompt still win."
    )


def settings_view(user_id: int, prefs: Prefs, models: list[str]) -> View:
    """Four menus (model, stylize, quality, speed) and a row of toggles: five rows in all."""
    view = View(timeout=None)
    current = prefs.model or models[0]
    menus: list[tuple[str, str, list[tuple[str, Any]], Any]] = [
        ("model", "Model", [(f"Model: {name}", name) for name in models], current)
    ]
    menus += [
        (field, placeholder, choices, prefs.settings.get(field))
        for field, (placeholder, choices) in MENUS.items()
    ]
    for field, placeholder, choices, chosen in menus:
        menu = SettingSelect(field, user_id)
        menu.item.placeholder = placeholder
        for label, value in choices:
            menu.item.add_option(label=label, value=str(value), default=chosen == value)
        view.add_item(menu)
    view.add_item(SettingToggle("remix", user_id, prefs.remix))
    view.add_item(SettingToggle("stealth", user_id, prefs.stealth))
    return view


class SettingSelect(
    DynamicItem[Select[View]],
    template=r"ib:set:(?P<field>model|stylize|quality|lane):(?P<user>[0-9]+)",
):
    """One /settings menu; keeps working after restarts (state is in the custom_id and DB)."""

    def __init__(self, field: str, user_id: int) -> None:
        super().__init__(Select(custom_id=f"ib:set:{field}:{user_id}", min_values=1, max_values=1))
        self.field = field
        self.user_id = user_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str]
    ) -> SettingSelect:
        return cls(match["field"], int(match["user"]))

    async def callback(self, interaction: Interaction) -> None:  # type: ignore[override]
        if interaction.user.id != self.user_id:
            await interaction.response.send_message(embed=error_embed(NotYourJob()), ephemeral=True)
            return
        bot = interaction.client
        raw = (interaction.data or {}).get("values", [""])[0]  # type: ignore[union-attr]
        if self.field == "model":
            choices: dict[str, Any] = {name: name for name in bot.engines.names}
        else:
            choices = {str(value): value for _, value in MENUS[self.field][1]}
        if raw not in choices:
            await interaction.response.send_message(
                embed=error_embed(UserFacingError(f"{raw!r} is not a {self.field} choice.")),
                ephemeral=True,
            )
            return
        if self.field == "model":
            prefs = await bot.prefs.set_model(self.user_id, choices[raw])
        else:
            prefs = await bot.prefs.set_setting(self.user_id, self.field, choices[raw])
        await _show_settings(interaction, prefs)


# Each toggle: (label when off, label when on).
TOGGLES = {"remix": ("Remix mode", "Remix mode ✓"), "stealth": ("Public mode", "Stealth mode")}


class SettingToggle(
    DynamicItem[Button[View]], template=r"ib:tog:(?P<field>remix|stealth):(?P<user>[0-9]+)"
):
    """Remix on/off and public/stealth; a click flips the stored value."""

    def __init__(self, field: str, user_id: int, on: bool = False) -> None:
        style = discord.ButtonStyle.success if on else discord.ButtonStyle.secondary
        super().__init__(
            Button(label=TOGGLES[field][on], style=style, custom_id=f"ib:tog:{field}:{user_id}")
        )
        self.field = field
        self.user_id = user_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str]
    ) -> SettingToggle:
        return cls(match["field"], int(match["user"]))

    async def callback(self, interaction: Interaction) -> None:  # type: ignore[override]
        if interaction.user.id != self.user_id:
            await interaction.response.send_message(embed=error_embed(NotYourJob()), ephemeral=True)
            return
        prefs = interaction.client.prefs
        current = await prefs.get(self.user_id)
        if self.field == "remix":
            changed = await prefs.set_remix(self.user_id, not current.remix)
        else:
            changed = await prefs.set_stealth(self.user_id, not current.stealth)
        await _show_settings(interaction, changed)


async def _show_settings(interaction: Interaction, prefs: Prefs) -> None:
    bot = interaction.client
    models = bot.engines.names
    here = await bot.moderation.allows_stealth(interaction.guild_id)
    await interaction.response.edit_message(
        content=settings_text(prefs, models, here),
        view=settings_view(interaction.user.id, prefs, models),
    )


@app_commands.command(
    name="settings", description="Your model, stylize, quality, speed, remix and visibility"
)
async def settings(interaction: Interaction) -> None:
    bot = interaction.client
    prefs = await bot.prefs.get(interaction.user.id)
    models = bot.engines.names
    here = await bot.moderation.allows_stealth(interaction.guild_id)
    await interaction.response.send_message(
        settings_text(prefs, models, here),
        view=settings_view(interaction.user.id, prefs, models),
        ephemeral=True,
    )


async def fast_time_left(bot: ImagineBot, user_id: int) -> str:
    """ "12m 30s of 1h 0m" fast time left today, or "unlimited"."""
    allowance = bot.settings.fast_allowance_s
    if allowance is None:
        return "unlimited"
    left = max(0.0, allowance - await bot.jobs.fast_used(user_id))
    return f"{_minutes(left)} of {_minutes(allowance)}"


def _minutes(seconds: float) -> str:
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    return f"{hours}h {rest // 60}m" if hours else f"{rest // 60}m {rest % 60}s"


@app_commands.command(name="fast", description="Run your jobs in the fast lane (uses fast time)")
async def fast(interaction: Interaction) -> None:
    await _set_lane(interaction, "fast")


@app_commands.command(name="relax", description="Run your jobs in the relax lane (free, slower)")
async def relax(interaction: Interaction) -> None:
    await _set_lane(interaction, "relax")


async def _set_lane(interaction: Interaction, lane: str) -> None:
    bot = interaction.client
    await bot.prefs.set_setting(interaction.user.id, "lane", lane)
    left = await fast_time_left(bot, interaction.user.id)
    what = (
        "Fast mode on: your jobs go first while you have fast time"
        if lane == "fast"
        else "Relax mode on: your jobs wait for the fast lane and spend no fast time"
    )
    await interaction.response.send_message(
        f"{what} (fast time left today: {left}). `--fast` or `--relax` in a prompt still wins.",
        ephemeral=True,
    )


prefer = app_commands.Group(name="prefer", description="Your prompt defaults")
option = app_commands.Group(name="option", description="Named flag bundles", parent=prefer)


def _invalid(error: PromptError, typed: str) -> InvalidParameter:
    return InvalidParameter(error.message, error.code, typed)


@option.command(name="set", description="Save flags under a name; use it with --name")
@app_commands.describe(name="e.g. mine (then write --mine)", value="flags, e.g. --ar 16:9 --s 250")
async def option_set(interaction: Interaction, name: str, value: str) -> None:
    try:
        key, flags = validate_option(name, value)
    except PromptError as error:
        raise _invalid(error, value) from error
    await interaction.client.prefs.set_option(interaction.user.id, key, flags)
    await interaction.response.send_message(
        f"Saved `--{key}` = `{flags}`. Add `--{key}` to a prompt to use it.", ephemeral=True
    )


@option.command(name="list", description="Show your saved options")
async def option_list(interaction: Interaction) -> None:
    options = (await interaction.client.prefs.get(interaction.user.id)).options
    lines = [f"`--{name}` = `{flags}`" for name, flags in sorted(options.items())]
    text = "\n".join(lines) or "You have no saved options. Add one with /prefer option set."
    await interaction.response.send_message(text, ephemeral=True)


@option.command(name="delete", description="Forget a saved option")
async def option_delete(interaction: Interaction, name: str) -> None:
    key = name.strip().lower().lstrip("-")
    deleted = await interaction.client.prefs.delete_option(interaction.user.id, key)
    text = f"Deleted `--{key}`." if deleted else f"You have no option `--{key}`."
    await interaction.response.send_message(text, ephemeral=True)


@prefer.command(name="suffix", description="Flags added to every prompt (leave empty to clear)")
@app_commands.describe(value="flags only, e.g. --ar 3:2 --s 250")
async def suffix(interaction: Interaction, value: str = "") -> None:
    try:
        flags = validate_suffix(value) if value.strip() else ""
    except PromptError as error:
        raise _invalid(error, value) from error
    await interaction.client.prefs.set_suffix(interaction.user.id, flags)
    text = f"Suffix set to `{flags}`." if flags else "Suffix cleared."
    await interaction.response.send_message(text, ephemeral=True)


def register(tree: app_commands.CommandTree[ImagineBot]) -> None:
    tree.add_command(settings)
    tree.add_command(fast)
    tree.add_command(relax)
    tree.add_command(prefer)
