"""Slash commands. Handlers stay thin: build the request, call the service, render."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot import preferences
from bot.errors import NotModerator
from bot.permissions import is_moderator

if TYPE_CHECKING:
    from bot.app import ImagineBot

Interaction = discord.Interaction["ImagineBot"]


@app_commands.command(name="imagine", description="Create four images from a prompt")
@app_commands.describe(
    prompt="What to draw; parameters like --ar 3:2 --seed 42 --no people go last"
)
async def imagine(interaction: Interaction, prompt: str) -> None:
    bot = interaction.client
    jobs = await bot.service.imagine(prompt, bot.origin(interaction))
    await bot.start_jobs(interaction, jobs)


mod = app_commands.Group(
    name="mod",
    description="Moderator tools",
    guild_only=True,
    default_permissions=discord.Permissions(manage_messages=True),
)


def _require_moderator(interaction: Interaction) -> int:
    """Discord's default permissions can be overridden by admins: check again here."""
    if interaction.guild_id is None or not is_moderator(
        interaction, interaction.client.settings.mod_role_ids
    ):
        raise NotModerator()
    return interaction.guild_id


@mod.command(name="ban", description="Stop a member from generating images here")
@app_commands.describe(user="Who to ban", reason="Why (shown to them and kept in the audit log)")
async def ban(interaction: Interaction, user: discord.User, reason: str) -> None:
    guild_id = _require_moderator(interaction)
    created = await interaction.client.bans.ban(guild_id, user.id, reason, interaction.user.id)
    text = f"Banned {user.mention}: {reason}" if created else f"{user.mention} was already banned."
    await interaction.response.send_message(text, ephemeral=True)


@mod.command(name="unban", description="Let a banned member generate images again")
@app_commands.describe(user="Who to unban", reason="Why (kept in the audit log)")
async def unban(interaction: Interaction, user: discord.User, reason: str = "") -> None:
    guild_id = _require_moderator(interaction)
    lifted = await interaction.client.bans.unban(guild_id, user.id, interaction.user.id, reason)
    text = f"Unbanned {user.mention}." if lifted else f"{user.mention} was not banned."
    await interaction.response.send_message(text, ephemeral=True)


def register(tree: app_commands.CommandTree[ImagineBot]) -> None:
    tree.add_command(imagine)
    tree.add_command(mod)
    preferences.register(tree)
