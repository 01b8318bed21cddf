"""A member's own work: /history (paged), /show, /info."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import ImagineBot
from bot.delivery.posting import finished_message
from bot.ui.history import PAGE, SHOW, history_message
from bot.ui.messages import job_content, mentions_for
from db import JobState
from services.errors import NotYourJob

Interaction = discord.Interaction[Any]


def fast_time(left_s: float | None, allowance_s: float | None) -> str:
    """ "12m 30s of 1h 0m" fast time left today, or "unlimited"."""
    if left_s is None or allowance_s is None:
        return "unlimited"
    return f"{_minutes(left_s)} of {_minutes(allowance_s)}"


def _minutes(seconds: float) -> str:
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    return f"{hours}h {rest // 60}m" if hours else f"{rest // 60}m {rest % 60}s"


class History(commands.Cog):
    def __init__(self, bot: ImagineBot) -> None:
        self.bot = bot
        self.history = bot.services.history

    @app_commands.command(name="history", description="Your jobs, or another member's public ones")
    @app_commands.describe(
        page="Page number",
        favourites="Only jobs marked with ❤️",
        member="Whose public jobs made in this server to list (default: all of your own)",
    )
    async def history_command(
        self,
        interaction: Interaction,
        page: int = 1,
        favourites: bool = False,
        member: discord.User | None = None,
    ) -> None:
        owner = None if member is None or member.id == interaction.user.id else member.id
        found = await self.history.page(
            interaction.user.id, page - 1, favourites, owner, interaction.guild_id
        )
        text, view = history_message(found)
        await interaction.response.send_message(
            text, view=view, ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
        )

    async def turn_page(self, interaction: Interaction, fields: dict[str, Any]) -> None:
        if interaction.user.id != fields["user"]:
            raise NotYourJob()
        found = await self.history.page(
            fields["user"], fields["page"], fields["fav"], fields["owner"], interaction.guild_id
        )
        text, view = history_message(found)
        await interaction.response.edit_message(content=text, view=view)

    @app_commands.command(name="show", description="Bring back one of your jobs, with its buttons")
    @app_commands.describe(job_id="The number shown in /history")
    async def show(self, interaction: Interaction, job_id: int) -> None:
        await self.show_job(interaction, job_id)

    async def show_pressed(self, interaction: Interaction, fields: dict[str, Any]) -> None:
        await self.show_job(interaction, fields["job"])

    async def show_job(self, interaction: Interaction, job_id: int) -> None:
        """Re-post one of the member's jobs here, with working buttons."""
        job = await self.history.owned_job(job_id, interaction.user.id, interaction.guild_id)
        if job.state != JobState.DONE:
            await interaction.response.send_message(job_content(job), ephemeral=True)
            return
        services = self.bot.services
        done = await finished_message(
            services.store, job, services.answers.shown_prompts, services.links
        )
        shown: dict[str, Any] = {"view": done.view, "allowed_mentions": mentions_for(job)}
        if done.upload is not None:
            shown["file"] = done.upload.file()
        if done.embed is not None:
            shown["embed"] = done.embed
        await interaction.response.send_message(job_content(job), **shown)

    @app_commands.command(name="info", description="Your queue and usage (only you see it)")
    async def info(self, interaction: Interaction) -> None:
        settings = self.bot.settings
        usage = await self.history.usage(interaction.user.id)
        prefs = usage.prefs
        lane = prefs.settings.get("lane") or "fast"
        model = prefs.model or self.bot.services.models[0]
        preset = self.bot.services.presets.get(model)
        licence = preset.licence if preset is not None else "no longer served"
        lines = [
            f"**Running:** {usage.running} (at most {settings.max_running_jobs} at once) · "
            f"**Queued:** {usage.queued} (at most {settings.max_queued_jobs})",
            f"**GPU time today:** {timedelta(seconds=round(usage.gpu_seconds_today))} · "
            f"**Fast time left:** {fast_time(usage.fast_left_s, settings.fast_allowance_s)}",
            f"**Mode:** {lane} · **Model:** {model} ({licence}) · "
            f"**Remix:** {'on' if prefs.remix else 'off'} · "
            f"**Visibility:** {'stealth' if prefs.stealth else 'public'}",
            f"**Jobs kept:** {usage.jobs_kept}",
        ]
        await interaction.response.send_message("\n".join(lines), ephemeral=True)


async def setup(bot: ImagineBot) -> None:
    history = History(bot)
    bot.router.add(PAGE, history.turn_page)
    bot.router.add(SHOW, history.show_pressed)
    await bot.add_cog(history)
