"""/privacy export and /privacy delete: a member's data, to take away or to erase."""

from __future__ import annotations

import contextlib
import io
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import ImagineBot
from bot.ui.privacy import ERASE, erase_view
from bot.ui.review import review_embed
from services.errors import NotYourJob

Interaction = discord.Interaction[Any]


class Privacy(commands.GroupCog, group_name="privacy", group_description="Your data"):
    def __init__(self, bot: ImagineBot) -> None:
        self.bot = bot
        self.privacy = bot.services.privacy
        super().__init__()

    @app_commands.command(name="export", description="A zip of your jobs and images, only for you")
    async def export(self, interaction: Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        count, data = await self.privacy.export(interaction.user.id)
        file = discord.File(io.BytesIO(data), filename="imaginebot-export.zip")
        await interaction.edit_original_response(  # the private "thinking" message
            content=f"Your {count} jobs. Images that did not fit in one upload are listed "
            "in jobs.json.",
            attachments=[file],
        )

    @app_commands.command(name="delete", description="Erase all your jobs and images (asks first)")
    async def delete(self, interaction: Interaction) -> None:
        await interaction.response.send_message(
            "This erases all your jobs, images and preferences. Moderation records stay. Sure?",
            view=erase_view(interaction.user.id),
            ephemeral=True,
        )

    async def erase(self, interaction: Interaction, fields: dict[str, Any]) -> None:
        if interaction.user.id != fields["user"]:
            raise NotYourJob()
        if not fields["go"]:
            await interaction.response.edit_message(content="Nothing was erased.", view=None)
            return
        erased = await self.privacy.erase(fields["user"], interaction.guild_id)
        await interaction.response.edit_message(
            content=f"Erased {erased.jobs} jobs and your preferences; any job still waiting "
            "was stopped. Their images are removed from the server's storage within a day. "
            "Messages already posted are yours to delete; their buttons no longer work.",
            view=None,
        )
        self.bot.delivery.notify()  # stopped jobs' messages lose their buttons
        for appeal, channel_id in erased.withdrawn:
            if channel_id is None or appeal.review_message_id is None:
                continue
            card = self.bot.get_partial_messageable(channel_id, guild_id=appeal.guild_id)
            with contextlib.suppress(discord.HTTPException):  # the card may be gone already
                await card.get_partial_message(appeal.review_message_id).edit(
                    embed=review_embed(appeal, "withdrawn, its author erased their data"),
                    view=None,
                )


async def setup(bot: ImagineBot) -> None:
    privacy = Privacy(bot)
    bot.router.add(ERASE, privacy.erase)
    await bot.add_cog(privacy)
