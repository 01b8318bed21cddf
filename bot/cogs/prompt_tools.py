"""/describe, /blend and /shorten, and the buttons of their answers."""

from __future__ import annotations

from typing import Any, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import ImagineBot
from bot.ui.answers import DESCRIBE_AGAIN, RUN_PROMPT
from services.errors import InvalidParameter

Interaction = discord.Interaction[Any]


class PromptTools(commands.Cog):
    def __init__(self, bot: ImagineBot) -> None:
        self.bot = bot
        self.answers = bot.services.answers
        self.blending = bot.services.blend

    @app_commands.command(name="describe", description="Four prompts for an image")
    @app_commands.describe(
        image="The image to describe", link="Or a link to it (from Discord's media servers)"
    )
    async def describe(
        self,
        interaction: Interaction,
        image: discord.Attachment | None = None,
        link: str | None = None,
    ) -> None:
        if (image is None) == (link is None):
            raise InvalidParameter(
                "Give /describe one image: attach it (image) or paste its link (link).",
                "describe_image",
                link or "",
            )
        url = image.url if image is not None else (link or "").strip()
        work = self.answers.describe(url, self.bot.origin(interaction))
        job = await self.bot.acks.within_deadline(interaction, work)
        await self.bot.posting.post_jobs(interaction, [job])

    @app_commands.command(name="blend", description="Blend 2 to 5 images into four new ones")
    @app_commands.describe(dimensions="The shape of the images (default square)")
    async def blend(
        self,
        interaction: Interaction,
        image1: discord.Attachment,
        image2: discord.Attachment,
        image3: discord.Attachment | None = None,
        image4: discord.Attachment | None = None,
        image5: discord.Attachment | None = None,
        dimensions: Literal["portrait", "square", "landscape"] = "square",
    ) -> None:
        images = [i for i in (image1, image2, image3, image4, image5) if i is not None]
        work = self.blending.blend(
            [i.url for i in images], dimensions, self.bot.origin(interaction)
        )
        job = await self.bot.acks.within_deadline(interaction, work)
        await self.bot.posting.post_jobs(interaction, [job])

    @app_commands.command(name="shorten", description="Which words of a prompt matter")
    @app_commands.describe(prompt="The prompt to shorten, parameters and all")
    async def shorten(self, interaction: Interaction, prompt: str) -> None:
        work = self.answers.shorten(prompt, self.bot.origin(interaction))
        job = await self.bot.acks.within_deadline(interaction, work)
        await self.bot.posting.post_jobs(interaction, [job])

    async def run_prompt(self, interaction: Interaction, fields: dict[str, Any]) -> None:
        number = fields["index"] or None  # 0: "Imagine all"
        work = self.answers.run(fields["job"], number, self.bot.origin(interaction))
        jobs = await self.bot.acks.within_deadline(interaction, work)
        await self.bot.posting.start_jobs(interaction, jobs)

    async def describe_again(self, interaction: Interaction, fields: dict[str, Any]) -> None:
        work = self.answers.describe_again(fields["job"], self.bot.origin(interaction))
        job = await self.bot.acks.within_deadline(interaction, work)
        await self.bot.posting.post_jobs(interaction, [job])


async def setup(bot: ImagineBot) -> None:
    tools = PromptTools(bot)
    bot.router.add(RUN_PROMPT, tools.run_prompt)
    bot.router.add(DESCRIBE_AGAIN, tools.describe_again)
    await bot.add_cog(tools)
