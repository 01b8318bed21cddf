"""/web: a private link to the member's gallery on the web companion; Vary (Region): a private
link to its editor."""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands
from discord.ext import commands
from discord.ui import View

from bot.client import ImagineBot
from bot.ui.job_views import VARY_REGION
from services.errors import NotYourJob, UserFacingError
from services.links import Links

Interaction = discord.Interaction[Any]


class Web(commands.Cog):
    def __init__(self, bot: ImagineBot) -> None:
        self.bot = bot

    def _links(self) -> Links:
        links = self.bot.services.links
        if links is None:
            raise UserFacingError(
                "The web companion is off on this bot.",
                hint="Its owner can turn it on with IMAGINEBOT_WEB_PORT and IMAGINEBOT_WEB_SECRET.",
            )
        return links

    @app_commands.command(name="web", description="A private link to your gallery on the web")
    async def web(self, interaction: discord.Interaction[Any]) -> None:
        services = self.bot.services
        links = self._links()
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

    async def vary_region(
        self, interaction: discord.Interaction[Any], fields: dict[str, Any]
    ) -> None:
        """Vary (Region): a private link to the editor, for the image's owner."""
        links = self._links()
        origin = self.bot.origin(interaction)
        job = await self.bot.services.children.pressable(fields["job"], origin)
        if job.user_id != origin.user_id:
            raise NotYourJob()
        await self.bot.services.imagine.intake.check_standing(origin, job.guild_id)
        grant = links.grant(origin.user_id, origin.guild_id)
        view = View()
        view.add_item(
            discord.ui.Button(label="Open the editor", url=links.region_url(job.id, grant))
        )
        await interaction.response.send_message(
            "Paint the region to redo in the editor, edit the prompt, and submit: the new grid "
            "is posted here.",
            view=view,
            ephemeral=True,
        )


async def setup(bot: ImagineBot) -> None:
    web = Web(bot)
    bot.router.add(VARY_REGION, web.vary_region)
    await bot.add_cog(web)
