"""Brings job messages up to date: progress edits while a job runs, then its result.

Works from the jobs table alone, so after a bot restart it finishes the messages of jobs that
ran meanwhile. Within the interaction token's life it edits through the webhook; after that
through the channel with the bot token; if the message is gone it posts a new one. A channel
Discord says is gone or closed to the bot (404, 403) is final: nothing more is sent there, the
job records why and its member is told by DM once. While the invalid-request budget
(bot.delivery.invalid) is spent, every delivery waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import timedelta
from typing import Any

import discord

from bot.delivery.alerts import dm_member
from bot.delivery.invalid import InvalidRequests
from bot.delivery.posting import ShownPrompts, Upload, finished_message
from bot.delivery.throttle import PER_MESSAGE_INTERVAL_S, EditBudget
from bot.ui.errors import ERROR_COLOUR
from bot.ui.job_views import waiting_view
from bot.ui.messages import failure_embed, job_content, mentions_for
from db import PREVIEW_FORMAT, DeliveryJobs, ImageStore, Job, JobState, WorkerRegistry
from db.models import utcnow
from inference.outcomes import OUTPUT_FILTERED
from services.estimates import spoken, wait_seconds
from services.links import Links

log = logging.getLogger(__name__)

ACTIVE = (JobState.QUEUED, JobState.RUNNING)

POLL_INTERVAL_S = 1.0
# Discord's answers that mean "not this way" (expired token, no access, message gone).
REFUSED = (401, 403, 404)
# A new message refused with these: the channel is gone or closed to the bot, for good.
CLOSED = (403, 404)
UNKNOWN_CHANNEL = 10003  # Discord's error code for a deleted channel
# A job whose delivery keeps failing is tried again after RETRY_BASE_S, doubling up to
# RETRY_MAX_S; a result is given up after MAX_DELIVERY_ATTEMPTS (the member is told).
MAX_DELIVERY_ATTEMPTS = 5
RETRY_BASE_S = 2.0
RETRY_MAX_S = 300.0


class Retries:
    """Failed deliveries of this process, so one broken job never holds up the others."""

    def __init__(self) -> None:
        self._failed: dict[int, tuple[int, float]] = {}  # job -> (failures, next try)

    def due(self, job_id: int, now: float) -> bool:
        return self._failed.get(job_id, (0, 0.0))[1] <= now

    def failed(self, job_id: int, now: float) -> int:
        """Record a failure; how many there have been."""
        count = self._failed.get(job_id, (0, 0.0))[0] + 1
        self._failed[job_id] = (count, now + min(RETRY_MAX_S, RETRY_BASE_S * 2 ** (count - 1)))
        return count

    def forget(self, job_id: int) -> None:
        self._failed.pop(job_id, None)


class Undeliverable(Exception):
    """The job's channel is gone or closed to the bot: posting its result is over."""


class Delivery:
    """Dispatches `result_withheld(job)` to the client's listeners when an output filter
    withheld a result (the moderation feature alerts the moderators)."""

    def __init__(
        self,
        client: discord.Client,
        jobs: DeliveryJobs,
        store: ImageStore,
        shown_prompts: ShownPrompts,
        invalid: InvalidRequests | None = None,
        links: Links | None = None,
        workers: WorkerRegistry | None = None,
        lease_s: float = 30.0,
    ) -> None:
        self.links = links
        self.workers = workers  # for the wait estimates of queued jobs
        self.lease_s = lease_s
        self._unserved: set[str] = set()  # models whose waiting jobs were logged
        self.client = client
        self.jobs = jobs
        self.store = store
        self.shown_prompts = shown_prompts
        self.invalid = invalid or InvalidRequests()
        # Channels Discord said are deleted or closed to the bot (this process's memory: after
        # a restart one attempt per channel finds out again).
        self._closed: dict[int, str] = {}  # channel -> why
        self._told: set[tuple[int, int]] = set()  # (member, channel) told by DM
        self._holding = False
        self._changed = asyncio.Event()
        self.budget = EditBudget()
        # The preview each running job's message shows now (forgotten with its result).
        self._previews: dict[int, str] = {}
        self.retries = Retries()

    def notify(self) -> None:
        """Something changed in the jobs table; look before the next poll."""
        self._changed.set()

    def _retry_soon(self) -> None:
        """A result waits out its message's edit interval: sweep again when it has passed."""
        asyncio.get_running_loop().call_later(PER_MESSAGE_INTERVAL_S, self.notify)

    async def run(self) -> None:
        while True:
            self._changed.clear()
            try:
                await self.sweep()
            except Exception:
                log.exception("delivery sweep failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), POLL_INTERVAL_S)

    async def sweep(self) -> None:
        """Bring every job message up to date. Each job's delivery stands alone: whatever
        one raises is that job's, retried with back-off and, for a result, given up after
        MAX_DELIVERY_ATTEMPTS with a message; the sweep always goes on to the others."""
        if self._hold(time.monotonic()):
            return
        await self._post_unposted()
        for job in await self.jobs.needing_delivery():
            if job.message_id is None or not self.retries.due(job.id, time.monotonic()):
                continue  # not recorded yet by the command handler, or backing off
            try:
                if job.state in (JobState.QUEUED, JobState.RUNNING):
                    await self._show_progress(job)
                else:
                    await self._show_result(job)
            except Undeliverable as closed:
                self.retries.forget(job.id)
                await self._undeliverable(job, str(closed))
            except Exception as error:
                log.exception("could not update the message of job %s", job.id)
                failures = self.retries.failed(job.id, time.monotonic())
                if failures >= MAX_DELIVERY_ATTEMPTS and job.state not in ACTIVE:
                    await self._give_up(job, error)
            else:
                self.retries.forget(job.id)
        await self._show_places()

    async def _post_unposted(self) -> None:
        """A job made off Discord (on the web companion) gets its message in its channel,
        with the bot token, which edits it from then on."""
        for job in await self.jobs.unposted():
            if job.channel_id in self._closed:
                continue
            channel = self.client.get_partial_messageable(job.channel_id, guild_id=job.guild_id)
            try:
                message = await channel.send(
                    job_content(job), allowed_mentions=mentions_for(job), view=waiting_view(job)
                )
            except discord.HTTPException as error:
                log.exception("could not post the message of job %s", job.id)
                if error.status in CLOSED:
                    self._close(job.channel_id, error)
                    await self._undeliverable(job, self._closed[job.channel_id])
                continue
            await self.jobs.attach_message(job.id, message.id, "", utcnow())

    def _hold(self, now: float) -> bool:
        """Whether deliveries wait for the invalid-request budget (logged when it starts)."""
        holding = self.invalid.exhausted(now)
        if holding and not self._holding:
            log.warning(
                "%d invalid Discord requests in %.0f s: deliveries wait until that falls",
                self.invalid.spent(now),
                self.invalid.window_s,
            )
        self._holding = holding
        return holding

    async def _undeliverable(self, job: Job, reason: str) -> None:
        """Record why the result cannot be posted and tell its member by DM, once per
        channel (never in the channel itself: that is what failed)."""
        if not await self.jobs.mark_undeliverable(job.id, reason):
            return
        log.warning("job %s: result not posted: %s", job.id, reason)
        if (job.user_id, job.channel_id) in self._told:
            return
        self._told.add((job.user_id, job.channel_id))
        text = (
            f"Your job {job.id} finished, but its result could not be posted: {reason}. "
            f"Bring it back with /show {job.id} in a channel where the bot can post."
        )
        try:
            await dm_member(self.client, job.user_id, text)
        except discord.HTTPException as error:
            log.info("job %s: its member's DMs are closed too (%s)", job.id, error.status)

    async def _give_up(self, job: Job, error: Exception) -> None:
        """A result that could not be posted after every attempt: say so on its message (if
        even that fails, only the log does) and stop trying."""
        self.retries.forget(job.id)
        embed = discord.Embed(
            title="Your result could not be posted",
            description=f"Delivering it failed {MAX_DELIVERY_ATTEMPTS} times "
            f"({type(error).__name__}). The job is kept: try /show {job.id}.",
            colour=ERROR_COLOUR,
        )
        message_id = job.message_id
        try:
            message_id = await self._edit(job, embed=embed, view=None)
        except Exception:
            log.exception("job %s: could not say that its result could not be posted", job.id)
        await self.jobs.mark_delivered(job.id, message_id)

    async def _show_places(self) -> None:
        """Waiting messages say their place in the queue, updated as it moves, within the
        same edit budget as progress (which goes first: this runs after it)."""
        queue = await self.jobs.queue()
        if not any(job.shown_place != place for job, place in queue):
            return
        render_s = await self.jobs.recent_render_seconds()
        serving = await self._serving()
        for job, place in queue:
            if job.shown_place == place or job.message_id is None or job.channel_id in self._closed:
                continue
            if not self.budget.try_spend(job.channel_id, job.message_id, time.monotonic()):
                continue  # a later sweep shows the place as it is then
            note = self._queue_note(job, place, render_s, serving)
            try:
                await self._edit(job, place=place, note=note, view=waiting_view(job))
            except discord.HTTPException:
                log.exception("could not show the queue place of job %s", job.id)
                continue
            await self.jobs.mark_place_shown(job.id, place)

    def _queue_note(
        self, job: Job, place: int, render_s: dict[str, float], serving: dict[str, int]
    ) -> str | None:
        """What a waiting message adds to its place: the estimated wait, or, when workers
        run but none serves the job's model, that (and the owner's log says it once)."""
        if serving and not serving.get(job.model):
            if job.model not in self._unserved:
                self._unserved.add(job.model)
                log.warning("jobs wait for %r, which no running worker serves", job.model)
            return f"no worker serves {job.model} now"
        wait = wait_seconds(place, render_s.get(job.model), serving.get(job.model, 0))
        return spoken(wait) if wait is not None else None

    async def _serving(self) -> dict[str, int]:
        """Live workers per model (none known without a registry: no estimate is shown)."""
        if self.workers is None:
            return {}
        _, serving = await self.workers.serving(utcnow() - timedelta(seconds=self.lease_s))
        return serving

    async def _show_progress(self, job: Job) -> None:
        assert job.message_id is not None
        if not self.budget.try_spend(job.channel_id, job.message_id, time.monotonic()):
            return  # shown by a later sweep, with whatever progress is newest then
        preview = await self._new_preview(job)
        await self._edit(job, upload=preview, view=waiting_view(job))
        if preview is not None and job.preview_sha256 is not None:
            self._previews[job.id] = job.preview_sha256
        await self.jobs.mark_shown(job.id, job.progress)

    async def _new_preview(self, job: Job) -> Upload | None:
        """The job's newest latent preview, if the message does not show it yet. It rides on a
        progress edit (never an edit of its own); the worker deletes the files when the render
        ends, so a missing one is simply not shown."""
        digest = job.preview_sha256
        if job.state != JobState.RUNNING or digest is None or self._previews.get(job.id) == digest:
            return None
        try:
            data = await asyncio.to_thread(self.store.get, digest, PREVIEW_FORMAT)
        except OSError:
            return None
        return Upload(data, f"preview_{job.id}.{PREVIEW_FORMAT}")

    async def _show_result(self, job: Job) -> None:
        assert job.message_id is not None
        if not self.budget.final_ready(job.message_id, time.monotonic()):
            self._retry_soon()
            return
        self.budget.forget(job.message_id)
        self.budget.count(job.channel_id, time.monotonic())
        self._previews.pop(job.id, None)
        # The result's image replaces a preview; a failed or cancelled job takes it off.
        no_preview: dict[str, Any] = {"attachments": []} if job.preview_sha256 else {}
        if job.state == JobState.DONE:
            done = await finished_message(self.store, job, self.shown_prompts, self.links)
            shown = no_preview if done.upload is None else {}
            message_id = await self._edit(
                job, upload=done.upload, view=done.view, embed=done.embed, **shown
            )
        elif job.state == JobState.CANCELLED:
            message_id = await self._edit(job, view=None, **no_preview)
        else:
            message_id = await self._edit(job, embed=failure_embed(job), view=None, **no_preview)
        if await self.jobs.mark_delivered(job.id, message_id) and _withheld(job):
            self.client.dispatch("result_withheld", job)

    async def _edit(
        self,
        job: Job,
        upload: Upload | None = None,
        place: int | None = None,
        note: str | None = None,
        **fields: Any,
    ) -> int:
        """Edit the job's message by the best route still open; return the message id.

        Within the token's life: the interaction webhook. After it (or if Discord refuses the
        token): the channel, with the bot token. If the message is gone or cannot be edited,
        a result is posted as a new message, never dropped; a progress edit is skipped.
        """
        assert job.message_id is not None
        active = job.state in ACTIVE
        if job.channel_id in self._closed:
            if active:
                return job.message_id  # its result finds out
            raise Undeliverable(self._closed[job.channel_id])
        fields.update(content=job_content(job, place, note), allowed_mentions=mentions_for(job))
        if job.interaction_token and job.token_expires_at and utcnow() < job.token_expires_at:
            webhook = discord.Webhook.partial(
                job.application_id or self.client.application_id or 0,
                job.interaction_token,
                client=self.client,
            )
            try:
                await webhook.edit_message(job.message_id, **fields, **_attachments(upload))
                return job.message_id
            except discord.HTTPException as error:
                if error.status not in REFUSED:
                    raise
                log.info(
                    "job %s: webhook edit refused (%s); using the channel", job.id, error.status
                )
        channel = self.client.get_partial_messageable(job.channel_id, guild_id=job.guild_id)
        try:
            await channel.get_partial_message(job.message_id).edit(**fields, **_attachments(upload))
            return job.message_id
        except discord.HTTPException as error:
            if error.status not in REFUSED:
                raise
            if error.code == UNKNOWN_CHANNEL:
                self._close(job.channel_id, error)
                return await self._edit(job, upload, place, note, **fields)
            if active:
                return job.message_id  # a lost progress edit is harmless; the result is not
        files = [upload.file()] if upload else []
        fields.pop("attachments", None)  # a new message has none to take off
        try:
            message = await channel.send(files=files, **fields)
        except discord.HTTPException as error:
            if error.status not in CLOSED:
                raise
            self._close(job.channel_id, error)
            raise Undeliverable(self._closed[job.channel_id]) from None
        return message.id

    def _close(self, channel_id: int, error: discord.HTTPException) -> None:
        self._closed[channel_id] = (
            "its channel no longer exists"
            if error.status == 404
            else "the bot may no longer post in its channel"
        )


def _withheld(job: Job) -> bool:
    return job.state == JobState.FAILED and (job.error or "").startswith(OUTPUT_FILTERED)


def _attachments(upload: Upload | None) -> dict[str, Any]:
    return {} if upload is None else {"attachments": [upload.file()]}
