"""A member's own work: /history (paged), /show, /info, favourites and deleting a job."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ui import Button, DynamicItem, View

from bot.buttons import job_view
from bot.delivery import Upload
from bot.errors import JobUnavailable, NotYourJob
from bot.render import job_content, mentions_for
from db import Job, JobState
from db.models import utcnow

if TYPE_CHECKING:
    from bot.app import ImagineBot

Interaction = discord.Interaction["ImagineBot"]
PAGE_SIZE = 5


async def owned_job(bot: ImagineBot, job_id: int, user_id: int) -> Job:
    """A job its owner may see; another member's (or a deleted) job is refused alike."""
    job = await bot.jobs.get(job_id)
    if job is None or job.deleted_at is not None:
        raise JobUnavailable(f"There is no job {job_id}.", hint="Find your jobs with /history.")
    if job.user_id != user_id:
        raise NotYourJob()
    return job


def _entry(job: Job) -> str:
    prompt = job.prompt if len(job.prompt) <= 80 else job.prompt[:79] + "…"
    heart = " ❤️" if job.favourite else ""
    when = discord.utils.format_dt(job.created_at, "R")
    return f"**#{job.id}** `{prompt}` {when} · {job.model} · {job.state}{heart}"


async def history_page(
    bot: ImagineBot, user_id: int, page: int, favourites: bool
) -> tuple[str, View]:
    total = await bot.jobs.count_for_user(user_id, favourites)
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    jobs = await bot.jobs.for_user(user_id, PAGE_SIZE, page * PAGE_SIZE, favourites)
    kind = "favourites" if favourites else "jobs"
    if not jobs:
        return f"You have no {kind} yet. Make some with /imagine.", View()
    lines = [f"**Your {kind}** (page {page + 1} of {pages}, newest first)"]
    lines += [_entry(job) for job in jobs]
    view = View(timeout=None)
    for job in jobs:
        view.add_item(ShowButton(job.id, label=f"#{job.id}"))
    fav = int(favourites)
    view.add_item(HistoryPage(page - 1, fav, user_id, "◀", disabled=page == 0))
    view.add_item(HistoryPage(page + 1, fav, user_id, "▶", disabled=page >= pages - 1))
    return "\n".join(lines), view


class HistoryPage(
    DynamicItem[Button[View]],
    template=r"ib:hp:(?P<page>-?[0-9]+):(?P<fav>[01]):(?P<user>[0-9]+)",
):
    def __init__(self, page: int, fav: int, user_id: int, emoji: str = "▶", disabled: bool = False):
        super().__init__(
            Button(
                emoji=emoji,
                custom_id=f"ib:hp:{page}:{fav}:{user_id}",
                disabled=disabled,
                row=1,
            )
        )
        self.page, self.fav, self.user_id = page, fav, user_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str]
    ) -> HistoryPage:
        return cls(int(match["page"]), int(match["fav"]), int(match["user"]))

    async def callback(self, interaction: Interaction) -> None:  # type: ignore[override]
        if interaction.user.id != self.user_id:
            await interaction.client.reply_error(interaction, NotYourJob())
            return
        text, view = await history_page(interaction.client, self.user_id, self.page, bool(self.fav))
        await interaction.response.edit_message(content=text, view=view)


class ShowButton(DynamicItem[Button[View]], template=r"ib:sh:(?P<job>[0-9]+)"):
    def __init__(self, job_id: int, label: str = "Show") -> None:
        super().__init__(Button(label=label, custom_id=f"ib:sh:{job_id}", row=0))
        self.job_id = job_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str]
    ) -> ShowButton:
        return cls(int(match["job"]))

    async def callback(self, interaction: Interaction) -> None:  # type: ignore[override]
        await show_job(interaction, self.job_id)


async def show_job(interaction: Interaction, job_id: int) -> None:
    """Re-post one of the member's jobs here, with working buttons."""
    bot = interaction.client
    try:
        job = await owned_job(bot, job_id, interaction.user.id)
    except (JobUnavailable, NotYourJob) as error:
        await bot.reply_error(interaction, error)
        return
    if job.state != JobState.DONE:
        await interaction.response.send_message(job_content(job), ephemeral=True)
        return
    shown = next(i for i in job.images if i.index == (0 if len(job.images) > 1 else 1))
    data, ext = await asyncio.to_thread(bot.delivery.upload_bytes, shown.sha256, shown.format)
    upload = Upload(data, f"imaginebot_{job.id}.{ext}")
    await interaction.response.send_message(
        job_content(job), file=upload.file(), view=job_view(job), allowed_mentions=mentions_for(job)
    )


@app_commands.command(name="history", description="Your jobs, newest first")
@app_commands.describe(page="Page number", favourites="Only jobs you marked with ❤️")
async def history(interaction: Interaction, page: int = 1, favourites: bool = False) -> None:
    text, view = await history_page(interaction.client, interaction.user.id, page - 1, favourites)
    await interaction.response.send_message(text, view=view, ephemeral=True)


@app_commands.command(name="show", description="Bring back one of your jobs, with its buttons")
@app_commands.describe(job_id="The number shown in /history")
async def show(interaction: Interaction, job_id: int) -> None:
    await show_job(interaction, job_id)


@app_commands.command(name="info", description="Your queue and usage (only you see it)")
async def info(interaction: Interaction) -> None:
    bot = interaction.client
    day_start = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    seconds, counts = await bot.jobs.usage(interaction.user.id, day_start)
    prefs = await bot.prefs.get(interaction.user.id)
    lane = prefs.settings.get("lane") or "fast"
    running, queued = counts.get(JobState.RUNNING, 0), counts.get(JobState.QUEUED, 0)
    lines = [
        f"**Running:** {running} (at most {bot.settings.max_running_jobs} at once) · "
        f"**Queued:** {queued} (at most {bot.settings.max_queued_jobs})",
        f"**GPU time today:** {timedelta(seconds=round(seconds))}",
        f"**Mode:** {lane}",
        f"**Jobs kept:** {await bot.jobs.count_for_user(interaction.user.id)}",
    ]
    await interaction.response.send_message("\n".join(lines), ephemeral=True)


def register(tree: app_commands.CommandTree[ImagineBot]) -> None:
    tree.add_command(history)
    tree.add_command(show)
    tree.add_command(info)
