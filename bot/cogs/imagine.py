"""/imagine: a prompt becomes its jobs' messages."""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import ImagineBot


class Imagine(commands.Cog):
    def __init__(self, bot: ImagineBot) -> None:
        self.bot = bot
        self.service = bot.services.imagine

    @app_commands.command(name="imagine", description="Create four images from a prompt")
    @app_commands.describe(
        prompt="What to draw; parameters like --ar 3:2 --seed 42 --no people go last"
    )
    async def imagine(self, interaction: discord.Interaction[Any], prompt: str) -> None:
        work = self.service.imagine(prompt, self.bot.origin(interaction))
        jobs = await self.bot.acks.within_deadline(interaction, work)
        await self.bot.posting.start_jobs(interaction, jobs)


async def setup(bot: ImagineBot) -> None:
    await bot.add_cog(Imagine(bot))
