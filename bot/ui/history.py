"""A history page in Discord: one line per job, Show buttons, paging."""

from __future__ import annotations

import discord
from discord.ui import View

from bot.ui.components import button
from bot.ui.custom_ids import flag, number, register, snowflake
from db import Job
from inference.operations import JobAction
from services.history import HistoryPage

# `user` may press it; `owner`, when not the user, is whose public jobs are shown.
PAGE = register(
    "hp", number("page"), flag("fav"), snowflake("user"), snowflake("owner"), optional=1
)
SHOW = register("sh", snowflake("job"))
# The jobs of commands other than /imagine, named in their line.
COMMANDS = frozenset({JobAction.DESCRIBE, JobAction.BLEND, JobAction.SHORTEN})


def entry(job: Job, own: bool) -> str:
    prompt = job.prompt if len(job.prompt) <= 80 else job.prompt[:79] + "…"
    heart = " ❤️" if job.favourite and own else ""
    when = discord.utils.format_dt(job.created_at, "R")
    where = ""
    if not own and job.guild_id is not None and job.result_message_id is not None:
        where = f" · https://discord.com/channels/{job.guild_id}/{job.channel_id}/{job.result_message_id}"
    command = f"/{job.action} " if job.action in COMMANDS else ""
    return f"**#{job.id}** {command}`{prompt}` {when} · {job.model} · {job.state}{heart}{where}"


def history_message(page: HistoryPage) -> tuple[str, View]:
    kind = "favourites" if page.favourites else "jobs"
    if not page.jobs:
        if page.own:
            return f"You have no {kind} yet. Make some with /imagine.", View()
        return f"<@{page.owner_id}> has no public {kind}.", View()
    whose = "Your" if page.own else f"<@{page.owner_id}>'s public"
    lines = [f"**{whose} {kind}** (page {page.page + 1} of {page.of}, newest first)"]
    lines += [entry(job, page.own) for job in page.jobs]
    view = View(timeout=None)
    if page.own:
        for job in page.jobs:
            view.add_item(button(SHOW.make(job.id), label=f"#{job.id}", row=0))
    other = None if page.own else page.owner_id
    for target, emoji, disabled in (
        (page.page - 1, "◀", page.page == 0),
        (page.page + 1, "▶", page.last),
    ):
        custom_id = PAGE.make(target, page.favourites, page.viewer_id, other)
        view.add_item(button(custom_id, emoji=emoji, disabled=disabled, row=1))
    return "\n".join(lines), view
