"""How a job looks in Discord: its message line, who it may ping, why it failed."""

from __future__ import annotations

import discord

from bot.ui.errors import ERROR_COLOUR
from db import PAUSED, Job, JobState
from db.fairshare import RELAX
from inference.operations import JobAction, kind_of
from inference.outcomes import OUTPUT_FILTERED
from services.job_controls import JobDetails

MAX_CONTENT = 2000


def job_content(job: Job, place: int | None = None, note: str | None = None) -> str:
    """`**<prompt>** - <who> (<status>)`, the line Midjourney users know; a queued job with
    a known `place` reads `(Waiting to start, #3 in queue)` (with a `note`: `..., about
    40 s`), or says the queue is paused.
    A deleted job's message keeps nothing of it."""
    if job.deleted_at is not None:
        return f"*Deleted by its author* - <@{job.user_id}>"
    who = f"<@{job.user_id}>"
    if job.action == JobAction.UPSCALE:
        who = f"Image #{job.parent_index} {who}"
    else:
        who = kind_of(job.action).byline + who
    status = _status(job)
    if place == PAUSED and job.state == JobState.QUEUED:
        status += ", queue paused by moderators"
    elif place is not None and job.state == JobState.QUEUED:
        status += f", #{place} in queue" + (f", {note}" if note else "")
    relaxed = job.lane == RELAX and job.state in (JobState.QUEUED, JobState.RUNNING)
    tail = f" - {who}" + (f" ({status})" if status else "") + (" (relax)" if relaxed else "")
    prompt = discord.utils.escape_markdown(job.prompt)
    room = MAX_CONTENT - len(tail) - 4
    if len(prompt) > room:
        prompt = prompt[: room - 1] + "…"
    return f"**{prompt}**{tail}"


def _status(job: Job) -> str:
    if job.state == JobState.QUEUED or (job.state == JobState.RUNNING and job.progress < 0):
        return "Waiting to start"
    if job.state == JobState.RUNNING:
        return f"{job.progress}%"
    if job.state == JobState.FAILED:
        return "Failed"
    if job.state == JobState.CANCELLED:
        return "Cancelled"
    return ""


def mentions_for(job: Job) -> discord.AllowedMentions:
    """Only the requesting user may be pinged; nothing a prompt contains ever pings."""
    return discord.AllowedMentions(
        everyone=False, roles=False, users=[discord.Object(job.user_id)], replied_user=False
    )


def failure_embed(job: Job) -> discord.Embed:
    description = f"The render stopped with an error: {job.error or 'unknown error'}"
    if (job.error or "").startswith(OUTPUT_FILTERED):
        description = (
            "Cancelled by output filters: the images were withheld and the moderators were told."
        )
    embed = discord.Embed(title="Job failed", description=description, colour=ERROR_COLOUR)
    embed.add_field(name="What to do", value="Press the buttons again or run /imagine again.")
    embed.set_footer(text=f"job {job.id}")
    return embed


def details_embed(details: JobDetails) -> discord.Embed:
    """A finished job's parameters and seeds (the ✉️ button): enough to make it again."""
    job = details.job
    embed = discord.Embed(title=f"Job #{job.id}", colour=discord.Colour.blurple())
    prompt = details.prompt if len(details.prompt) <= 1000 else details.prompt[:997] + "..."
    embed.add_field(name="Prompt", value=f"`{prompt}`" if prompt else "(images only)", inline=False)
    rendering = details.rendering
    embed.add_field(name="Model", value=job.model)
    if rendering is not None:
        embed.add_field(name="Steps", value=str(rendering.steps))
        embed.add_field(name="Guidance", value=f"{rendering.guidance:g}")
    if details.seeds:
        seeds = " · ".join(f"{n}: `{seed}`" for n, seed in details.seeds)
        embed.add_field(name="Seeds", value=seeds, inline=False)
    if job.seed is not None and len(details.seeds) > 1:
        embed.set_footer(text=f"The same prompt with --seed {job.seed} makes this grid again.")
    return embed
