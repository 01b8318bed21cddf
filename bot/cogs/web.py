"""/web: a private link to the member's gallery on the web companion."""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands
from discord.ext import commands
from discord.ui import View

from bot.client import ImagineBot
from services.errors import UserFacingError


class Web(commands.Cog):
    def __init__(self, bot: ImagineBot) -> None:
        self.bot = bot

    @app_commands.command(name="web", description="A private link to your gallery on the web")
    async def web(self, interaction: discord.Interaction[Any]) -> None:
        services = self.bot.services
        links = services.links
        if links is None:
            raise UserFacingError(
                "The web gallery is off on this bot.",
                hint="Its owner can turn it on with IMAGINEBOT_WEB_PORT and IMAGINEBOT_WEB_SECRET.",
            )
        await services.imagine.intake.check_standing(self.bot.origin(interaction))
        grant = links.grant(interaction.user.id, interaction.guild_id)
        view = View()
        view.add_item(discord.ui.Button(label="Open your gallery", url=links.gallery_url(grant)))
        hours = links.ttl_s / 3600
        await interaction.response.send_message(
            f"Your gallery and your jobs' pages, for the next {hours:g} hours. The link is "
            "yours: anyone who has it sees what you see there.",
            view=view,
            ephemeral=True,
        )


async def setup(bot: ImagineBot) -> None:
    await bot.add_cog(Web(bot))
