"""Posting jobs: one message per new job (the interaction's answer for the first, followups
after it; or in a channel, for jobs no interaction asked for), recorded with the token that
can edit it; a result's image as an upload Discord takes."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import discord
from discord.ui import View

from bot.delivery.replies import tell_privately, thinking
from bot.delivery.tokens import token_expiry
from bot.ui.answers import answer_embed, answer_view
from bot.ui.job_views import confirm_view, job_view, waiting_view
from bot.ui.messages import job_content, mentions_for
from db import PROMPT_IMAGE_FORMAT, DeliveryJobs, ImageStore, Job, JobState
from db.models import utcnow
from inference.images import fit_upload
from inference.operations import JobAction, kind_of
from services.events import JobEvents
from services.links import Links

log = logging.getLogger(__name__)

UPLOAD_LIMIT = 10 * 1024 * 1024 - 64 * 1024  # Discord's 10 MiB, less room for the form


@dataclass(frozen=True)
class Upload:
    """Bytes to attach; a fresh discord.File per attempt, since a File is read once."""

    data: bytes
    filename: str

    def file(self) -> discord.File:
        return discord.File(io.BytesIO(self.data), filename=self.filename)


def upload_bytes(store: ImageStore, digest: str, fmt: str) -> tuple[bytes, str]:
    """A stored file, re-encoded if it is over Discord's upload limit (never dropped).
    Blocking: from a thread."""
    return fit_upload(store.get(digest, fmt), UPLOAD_LIMIT)


def result_upload(store: ImageStore, job: Job) -> Upload:
    """What a finished job's message shows: its grid, or its single image. Blocking."""
    shown = next(i for i in job.images if i.index == (0 if len(job.images) > 1 else 1))
    data, ext = upload_bytes(store, shown.sha256, shown.format)
    return Upload(data, f"imaginebot_{job.id}.{ext}")


# The prompts of an answer its server's policy lets it show (services.answers.shown_prompts).
ShownPrompts = Callable[[Job], Awaitable[list[str]]]


@dataclass(frozen=True)
class Finished:
    """A finished job's message: its image (or, for /describe, the image described), its
    buttons and, for an answer, the embed listing its prompts."""

    upload: Upload | None
    view: View
    embed: discord.Embed | None = None


async def finished_message(
    store: ImageStore, job: Job, shown_prompts: ShownPrompts, links: Links | None = None
) -> Finished:
    url = web_link(links, job)
    if not kind_of(job.action).answers:
        upload = await asyncio.to_thread(result_upload, store, job)
        return Finished(upload, job_view(job, url, region=links is not None))
    prompts = await shown_prompts(job)
    described: Upload | None = None
    if job.action == JobAction.DESCRIBE and job.prompt_images:
        data, ext = await asyncio.to_thread(
            upload_bytes, store, job.prompt_images[0], PROMPT_IMAGE_FORMAT
        )
        described = Upload(data, f"described_{job.id}.{ext}")
    return Finished(described, answer_view(job, prompts, url), answer_embed(job, prompts))


def web_link(links: Links | None, job: Job) -> str | None:
    """The link a public result's message carries to its page: for whoever sees the message
    (member 0), that page only; a stealth job's message has none (its owner has /web)."""
    if links is None or job.stealth or job.guild_id is None:
        return None
    return links.job_url(job.id, links.grant(0, job.guild_id, job.id))


class Posting:
    def __init__(self, client: discord.Client, jobs: DeliveryJobs, events: JobEvents) -> None:
        self.client = client
        self.jobs = jobs
        self.events = events

    async def start_jobs(self, interaction: discord.Interaction[Any], jobs: list[Job]) -> None:
        """Answer with the jobs' messages (or, for a held batch, ask to confirm it first)."""
        if jobs[0].state == JobState.HELD:
            await tell_privately(
                interaction,
                content=f"This prompt makes {len(jobs)} jobs. Start them all?",
                view=confirm_view(jobs[0]),
            )
            return
        await self.post_jobs(interaction, jobs)

    async def post_jobs(self, interaction: discord.Interaction[Any], jobs: list[Job]) -> None:
        """One message per job: the interaction's response for the first, followups after."""
        expires = token_expiry(interaction.created_at)
        for n, job in enumerate(jobs):
            shown: dict[str, Any] = {
                "allowed_mentions": mentions_for(job),
                "view": waiting_view(job),
            }
            try:
                if not interaction.response.is_done():
                    response = await interaction.response.send_message(job_content(job), **shown)
                    message_id = response.message_id or (await interaction.original_response()).id
                elif n == 0 and thinking(interaction):  # deferred: the first job takes it over
                    message = await interaction.edit_original_response(
                        content=job_content(job), **shown
                    )
                    message_id = message.id
                else:
                    message = await interaction.followup.send(job_content(job), wait=True, **shown)
                    message_id = message.id
            except discord.HTTPException as exc:
                await self.jobs.refused(job.id, f"Discord refused the job's message ({exc.status})")
                log.exception("could not post the message of job %s", job.id)
                continue
            await self.jobs.attach_message(job.id, message_id, interaction.token, expires)
        self.events.changed()

    async def post_in_channel(self, channel_id: int, guild_id: int | None, jobs: list[Job]) -> None:
        """Jobs no interaction of their member's asked for (an approved appeal): posted in
        the channel with the bot token, which edits them from then on."""
        channel = self.client.get_partial_messageable(channel_id, guild_id=guild_id)
        for job in jobs:
            message = await channel.send(job_content(job), allowed_mentions=mentions_for(job))
            await self.jobs.attach_message(job.id, message.id, "", utcnow())
        self.events.changed()
