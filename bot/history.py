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
from bot.preferences import fast_time_left
from bot.render import job_content, mentions_for
from db import Job, JobState
from db.models import today_start

if TYPE_CHECKING:
    from bot.app import ImagineBot

Interaction = discord.Interaction["ImagineBot"]
PAGE_SIZE = 5
COUNTED = 1000  # jobs counted for the page count; beyond it the count reads "200+"


async def owned_job(bot: ImagineBot, job_id: int, user_id: int) -> Job:
    """A job its owner may see; another member's job is refused, and a deleted one, or
    another member's stealth job, is as unknown as one that never existed."""
    job = await bot.jobs.get(job_id)
    hidden = job is not None and job.stealth and job.user_id != user_id
    if job is None or job.deleted_at is not None or hidden:
        raise JobUnavailable(f"There is no job {job_id}.", hint="Find your jobs with /history.")
    if job.user_id != user_id:
        raise NotYourJob()
    return job


def _entry(job: Job, own: bool) -> str:
    prompt = job.prompt if len(job.prompt) <= 80 else job.prompt[:79] + "…"
    heart = " ❤️" if job.favourite and own else ""
    when = discord.utils.format_dt(job.created_at, "R")
    where = ""
    if not own and job.guild_id is not None and job.result_message_id is not None:
        where = f" · https://discord.com/channels/{job.guild_id}/{job.channel_id}/{job.result_message_id}"
    return f"**#{job.id}** `{prompt}` {when} · {job.model} · {job.state}{heart}{where}"


async def history_page(
    bot: ImagineBot, viewer_id: int, page: int, favourites: bool, owner_id: int | None = None
) -> tuple[str, View]:
    """A page of the viewer's own jobs or, for another member's, their public finished jobs
    (stealth jobs are never listed to anyone but their owner)."""
    owner = viewer_id if owner_id is None else owner_id
    own = owner == viewer_id
    total = await bot.jobs.count_for_user(owner, favourites, not own, up_to=COUNTED + 1)
    more = total > COUNTED  # "page 1 of 200+": nobody needs the exact count of 50,000 jobs
    pages = max(1, -(-min(total, COUNTED) // PAGE_SIZE))
    page = max(page, 0) if more else min(max(page, 0), pages - 1)
    jobs = await bot.jobs.for_user(owner, PAGE_SIZE, page * PAGE_SIZE, favourites, not own)
    if not jobs and page > 0:  # past the end of a long history
        return await history_page(bot, viewer_id, 0, favourites, owner_id)
    kind = "favourites" if favourites else "jobs"
    whose = "Your" if own else f"<@{owner}>'s public"
    if not jobs:
        if own:
            return f"You have no {kind} yet. Make some with /imagine.", View()
        return f"<@{owner}> has no public {kind}.", View()
    of = f"{max(pages, page + 1)}+" if more else str(pages)
    lines = [f"**{whose} {kind}** (page {page + 1} of {of}, newest first)"]
    lines += [_entry(job, own) for job in jobs]
    view = View(timeout=None)
    if own:
        for job in jobs:
            view.add_item(ShowButton(job.id, label=f"#{job.id}"))
    fav, other = int(favourites), None if own else owner
    view.add_item(HistoryPage(page - 1, fav, viewer_id, "◀", page == 0, other))
    last = len(jobs) < PAGE_SIZE or (page >= pages - 1 and not more)
    view.add_item(HistoryPage(page + 1, fav, viewer_id, "▶", last, other))
    return "\n".join(lines), view


class HistoryPage(
    DynamicItem[Button[View]],
    template=r"ib:hp:(?P<page>-?[0-9]+):(?P<fav>[01]):(?P<user>[0-9]+)(?::(?P<owner>[0-9]+))?",
):
    """Paging; `user` may press it, `owner` (when not the user) is whose public jobs are shown."""

    def __init__(
        self,
        page: int,
        fav: int,
        user_id: int,
        emoji: str = "▶",
        disabled: bool = False,
        owner_id: int | None = None,
    ):
        owner = "" if owner_id is None else f":{owner_id}"
        super().__init__(
            Button(
                emoji=emoji,
                custom_id=f"ib:hp:{page}:{fav}:{user_id}{owner}",
                disabled=disabled,
                row=1,
            )
        )
        self.page, self.fav, self.user_id, self.owner_id = page, fav, user_id, owner_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str]
    ) -> HistoryPage:
        owner = int(match["owner"]) if match["owner"] else None
        return cls(int(match["page"]), int(match["fav"]), int(match["user"]), owner_id=owner)

    async def callback(self, interaction: Interaction) -> None:  # type: ignore[override]
        if interaction.user.id != self.user_id:
            await interaction.client.reply_error(interaction, NotYourJob())
            return
        text, view = await history_page(
            interaction.client, self.user_id, self.page, bool(self.fav), self.owner_id
        )
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


@app_commands.command(name="history", description="Your jobs, or another member's public ones")
@app_commands.describe(
    page="Page number",
    favourites="Only jobs marked with ❤️",
    member="Whose public jobs to list (default: your own, all of them)",
)
async def history(
    interaction: Interaction,
    page: int = 1,
    favourites: bool = False,
    member: discord.User | None = None,
) -> None:
    owner = None if member is None or member.id == interaction.user.id else member.id
    text, view = await history_page(
        interaction.client, interaction.user.id, page - 1, favourites, owner
    )
    await interaction.response.send_message(
        text, view=view, ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
    )


@app_commands.command(name="show", description="Bring back one of your jobs, with its buttons")
@app_commands.describe(job_id="The number shown in /history")
async def show(interaction: Interaction, job_id: int) -> None:
    await show_job(interaction, job_id)


@app_commands.command(name="info", description="Your queue and usage (only you see it)")
async def info(interaction: Interaction) -> None:
    bot = interaction.client
    seconds, counts = await bot.jobs.usage(interaction.user.id, today_start())
    prefs = await bot.prefs.get(interaction.user.id)
    lane = prefs.settings.get("lane") or "fast"
    running, queued = counts.get(JobState.RUNNING, 0), counts.get(JobState.QUEUED, 0)
    lines = [
        f"**Running:** {running} (at most {bot.settings.max_running_jobs} at once) · "
        f"**Queued:** {queued} (at most {bot.settings.max_queued_jobs})",
        f"**GPU time today:** {timedelta(seconds=round(seconds))} · "
        f"**Fast time left:** {await fast_time_left(bot, interaction.user.id)}",
        f"**Mode:** {lane} · **Model:** {prefs.model or bot.engines.names[0]} · "
        f"**Remix:** {'on' if prefs.remix else 'off'} · "
        f"**Visibility:** {'stealth' if prefs.stealth else 'public'}",
        f"**Jobs kept:** {await bot.jobs.count_for_user(interaction.user.id)}",
    ]
    await interaction.response.send_message("\n".join(lines), ephemeral=True)


def register(tree: app_commands.CommandTree[ImagineBot]) -> None:
    tree.add_command(history)
    tree.add_command(show)
    tree.add_command(info)
