"""/settings and /prefer: a member's prompt defaults, applied under the flags they type.

Order, lowest first: built-in defaults < /settings < /prefer suffix < /prefer options used in
the prompt (`--name`) < the prompt's own flags.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ui import DynamicItem, Select, View

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


def settings_text(prefs: Prefs) -> str:
    shown = ", ".join(f"{k} {v}" for k, v in sorted(prefs.settings.items())) or "built-in defaults"
    return f"**Your settings:** {shown}. Flags typed in a prompt still win."


def settings_view(user_id: int, prefs: Prefs) -> View:
    view = View(timeout=None)
    for field, (placeholder, choices) in MENUS.items():
        menu = SettingSelect(field, user_id)
        menu.item.placeholder = placeholder
        for label, value in choices:
            menu.item.add_option(
                label=label, value=str(value), default=prefs.settings.get(field) == value
            )
        view.add_item(menu)
    return view


class SettingSelect(
    DynamicItem[Select[View]],
    template=r"ib:set:(?P<field>stylize|quality|lane):(?P<user>[0-9]+)",
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
        raw = (interaction.data or {}).get("values", [""])[0]  # type: ignore[union-attr]
        choices = {str(value): value for _, value in MENUS[self.field][1]}
        if raw not in choices:
            await interaction.response.send_message(
                embed=error_embed(UserFacingError(f"{raw!r} is not a {self.field} choice.")),
                ephemeral=True,
            )
            return
        prefs = await interaction.client.prefs.set_setting(self.user_id, self.field, choices[raw])
        await interaction.response.edit_message(
            content=settings_text(prefs), view=settings_view(self.user_id, prefs)
        )


@app_commands.command(name="settings", description="Your default stylize, quality and speed")
async def settings(interaction: Interaction) -> None:
    prefs = await interaction.client.prefs.get(interaction.user.id)
    await interaction.response.send_message(
        settings_text(prefs), view=settings_view(interaction.user.id, prefs), ephemeral=True
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
    tree.add_command(prefer)
