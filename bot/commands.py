"""Slash commands. Handlers stay thin: build the request, call the service, render."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot import guide, history, moderator, preferences, privacy
from bot.errors import DirectMessagesOff

if TYPE_CHECKING:
    from bot.app import ImagineBot

Interaction = discord.Interaction["ImagineBot"]


@app_commands.command(name="imagine", description="Create four images from a prompt")
@app_commands.describe(
    prompt="What to draw; parameters like --ar 3:2 --seed 42 --no people go last"
)
async def imagine(interaction: Interaction, prompt: str) -> None:
    bot = interaction.client
    if interaction.guild_id is None and not bot.settings.allow_dms:
        raise DirectMessagesOff()
    jobs = await bot.within_deadline(
        interaction, bot.service.imagine(prompt, bot.origin(interaction))
    )
    await bot.start_jobs(interaction, jobs)


def register(tree: app_commands.CommandTree[ImagineBot]) -> None:
    tree.add_command(imagine)
    moderator.register(tree)
    history.register(tree)
    guide.register(tree)
    privacy.register(tree)
    preferences.register(tree)
