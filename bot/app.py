"""The Discord client: wiring of settings, database, worker, commands, buttons and delivery."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import secrets
from collections.abc import Awaitable
from datetime import datetime, timedelta
from typing import Any, TypeVar

import aiohttp
import discord
from discord import app_commands

from bot import commands, moderator
from bot.buttons import DYNAMIC_BUTTONS, appeal_view, confirm_view, waiting_view
from bot.delivery import Delivery
from bot.ephemeral import tell_privately, thinking
from bot.errors import BannedPrompt, UserFacingError
from bot.escalation import parse_ladder
from bot.forms import form_submission, remix_form, zoom_form
from bot.history import HistoryPage, ShowButton
from bot.image_fetch import FetchLimits, ImageFetcher
from bot.lag import LagMonitor
from bot.moderate import deployment_policy
from bot.permissions import is_moderator
from bot.preferences import SettingSelect, SettingToggle
from bot.privacy import EraseButton
from bot.render import error_embed, job_content, mentions_for, unexpected_error_embed
from bot.review import ReviewService
from bot.service import JobService, Origin
from bot.settings import Settings
from db import (
    PREVIEW_FORMAT,
    Appeal,
    BanRepository,
    ImageStore,
    Job,
    JobRepository,
    JobState,
    ModerationRepository,
    PrefsRepository,
    make_engine,
    make_sessionmaker,
    upgrade_schema,
)
from db.jobs import token_expiry
from db.models import utcnow
from inference.engines import EnginePool
from inference.presets import load_presets
from inference.watermark import check_available
from inference.worker import OutputFilter, Worker
from moderation.images import load_output_filter
from moderation.semantic import SemanticCheck

log = logging.getLogger(__name__)
PURGE_INTERVAL_S = 3600
# A render's previews are deleted when it ends; older ones belong to a worker that died.
PREVIEW_MAX_AGE_S = 3600
# Discord drops an interaction not acknowledged within 3 s. An answer not ready
# IMAGINEBOT_ACK_BUDGET_S after the interaction was made is deferred first; with more than
# BUSY_INTERACTIONS being answered at once, each new one is deferred at once
# (benchmarks/bench_queue.py).
BUSY_INTERACTIONS = 8
T = TypeVar("T")


def ack_wait(waited_s: float, answering: int, budget_s: float) -> float:
    """How long to let an answer get ready before deferring the interaction."""
    if answering > BUSY_INTERACTIONS:
        return 0.0
    return max(0.0, budget_s - waited_s)


class ImagineBot(discord.AutoShardedClient):
    """The bot. Sharded by discord.py: one shard unless IMAGINEBOT_SHARDS asks for more
    (`auto` takes Discord's recommendation, which large bots need)."""

    def __init__(
        self,
        settings: Settings,
        *,
        run_worker: bool | None = None,
        output_filter: OutputFilter | None = None,
    ) -> None:
        intents = discord.Intents.none()
        intents.guilds = True
        super().__init__(
            intents=intents,
            # Nothing pings unless a message opts in (only ever the requesting user).
            allowed_mentions=discord.AllowedMentions.none(),
            shard_count=None if settings.shards == "auto" else settings.shards,
            guild_ready_timeout=settings.guild_ready_timeout_s,
        )
        self.settings = settings
        self.run_worker = settings.renders_in_process if run_worker is None else run_worker
        if self.run_worker and settings.watermark:
            check_available()  # at once, with how to fix it, not when the worker starts
        self.output_filter = output_filter or load_output_filter(settings.output_filter)
        self.tree = app_commands.CommandTree(self)
        self.tree.on_error = self.on_app_command_error  # type: ignore[method-assign]
        self.db_engine = make_engine(settings.resolved_database_url)
        sessions = make_sessionmaker(self.db_engine)
        self.jobs = JobRepository(sessions, settings.max_running_jobs, settings.fast_allowance_s)
        self.bans = BanRepository(sessions)
        self.prefs = PrefsRepository(sessions)
        self.moderation = ModerationRepository(sessions)
        self.review = ReviewService(
            self.bans, self.moderation, parse_ladder(settings.strike_ladder)
        )
        self.store = ImageStore(settings.images_dir)
        # Validated here, so a typo in IMAGINEBOT_MODELS or the presets file stops the start.
        self.engines = EnginePool(
            load_presets(settings.presets_file),
            settings.served_models,
            settings.resolved_models_dir,
            settings.device,
            settings.memory_options,
        )
        self.service = JobService(
            self.jobs,
            self.bans,
            self.prefs,
            self.moderation,
            self.engines.presets,
            settings.max_queued_jobs,
            deployment_policy(settings.lexicon_file),
            SemanticCheck() if settings.semantic_moderation else None,
            ImageFetcher(FetchLimits.from_settings(settings), self.store),
        )
        self.delivery = Delivery(self, self.jobs, self.store)
        self.lag = LagMonitor()
        self.worker: Worker | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._answering = 0  # interactions inside within_deadline now

    async def login(self, token: str) -> None:
        # discord.py's default pool is unbounded: a burst of interactions opened hundreds of
        # connections at once and stalled the loop (TLS makes that worse). Bounded per host,
        # REST calls reuse them (Discord's 50 requests/s global limit is far below what they
        # carry); the gateway's websockets, one per shard, live on another host.
        self.http.connector = aiohttp.TCPConnector(
            limit=0, limit_per_host=self.settings.http_connections
        )
        await super().login(token)

    async def setup_hook(self) -> None:
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        await upgrade_schema(self.db_engine)
        self.add_dynamic_items(
            *DYNAMIC_BUTTONS, SettingSelect, SettingToggle, HistoryPage, ShowButton, EraseButton
        )
        commands.register(self.tree)
        await self._sync_commands()
        if self.run_worker:
            self.worker = Worker(
                self.jobs,
                self.store,
                self.engines,
                f"embedded-{secrets.token_hex(3)}",
                max_attempts=self.settings.max_attempts,
                output_filter=self.output_filter,
                lease_s=self.settings.lease_seconds,
                # On SQLite it is the only worker: whatever ran before a restart was its own.
                sole_worker=self.settings.resolved_database_url.startswith("sqlite"),
                watermark=self.settings.watermark,
            )
            self.worker.on_change = self.delivery.notify
            self._tasks.append(asyncio.create_task(self.worker.run(), name="worker"))
        else:
            log.info(
                "this bot does not render: `imaginebot worker` processes on the same database "
                "do (IMAGINEBOT_EMBEDDED_WORKER=true renders here too)"
            )
        self._tasks.append(asyncio.create_task(self.delivery.run(), name="delivery"))
        self._tasks.append(asyncio.create_task(self.lag.run(), name="lag-monitor"))
        self._tasks.append(asyncio.create_task(self._purge_forever(), name="purge"))
        gc.collect()  # the libraries loaded by now are permanent: see Worker.run
        gc.freeze()

    async def _purge_forever(self) -> None:
        """Deleted jobs' image files go once their grace period is over, and latent previews
        nothing shows any more (hourly check)."""
        grace = timedelta(hours=self.settings.delete_grace_hours)
        while True:
            try:
                await self.purge_deleted(utcnow() - grace)
                await self.purge_previews(PREVIEW_MAX_AGE_S)
            except Exception:
                log.exception("purging deleted images failed; trying again later")
            await asyncio.sleep(PURGE_INTERVAL_S)

    async def purge_previews(self, older_than_s: float) -> int:
        """Preview files a render left behind (its worker died before deleting them); those
        running jobs show now stay."""
        shown = await self.jobs.running_previews()
        return await asyncio.to_thread(self.store.sweep, PREVIEW_FORMAT, older_than_s, shown)

    async def purge_deleted(self, deleted_before: datetime) -> int:
        files = await self.jobs.purge_deleted(deleted_before)
        for digest, fmt in files:
            await asyncio.to_thread(self.store.delete, digest, fmt)
        return len(files)

    async def _sync_commands(self) -> None:
        if not self.settings.guild_ids:
            synced = await self.tree.sync()
            log.info("synced %d global commands (may take up to an hour to appear)", len(synced))
            return
        for guild_id in self.settings.guild_ids:
            guild = discord.Object(guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
            log.info("synced %d commands to guild %s", len(synced), guild_id)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await super().close()
        await self.db_engine.dispose()
        gc.unfreeze()  # what setup_hook froze may be garbage now (a process that goes on)

    def origin(self, interaction: discord.Interaction[Any]) -> Origin:
        return Origin(
            user_id=interaction.user.id,
            channel_id=interaction.channel_id or 0,
            guild_id=interaction.guild_id,
            interaction_id=interaction.id,
            application_id=interaction.application_id,
            interaction_token=interaction.token,
            created_at=interaction.created_at,
            is_moderator=is_moderator(interaction, self.settings.mod_role_ids),
        )

    async def within_deadline(
        self, interaction: discord.Interaction[Any], work: Awaitable[T], ephemeral: bool = False
    ) -> T:
        """`work`'s result; if it is not ready well inside Discord's 3 s to acknowledge (a
        busy database, hundreds of members at once), the interaction is deferred first
        (`ephemeral`: only its user sees the "thinking" message), and the answer then
        replaces the "thinking" message (slash commands) or follows it."""
        waited = (discord.utils.utcnow() - interaction.created_at).total_seconds()
        self._answering += 1
        try:
            task = asyncio.ensure_future(work)
            done, _ = await asyncio.wait(
                {task}, timeout=ack_wait(waited, self._answering, self.settings.ack_budget_s)
            )
            if not done and not interaction.response.is_done():
                slash = interaction.type == discord.InteractionType.application_command
                await interaction.response.defer(thinking=slash, ephemeral=ephemeral)
            return await task
        finally:
            self._answering -= 1

    async def start_jobs(self, interaction: discord.Interaction[Any], jobs: list[Job]) -> None:
        """Answer with the jobs' messages (or, for a held batch, ask to confirm it first)."""
        if jobs[0].state == JobState.HELD:
            await tell_privately(
                interaction,
                content=f"This prompt makes {len(jobs)} jobs. Start them all?",
                view=confirm_view(jobs[0]),
            )
            return
        await self._post_jobs(interaction, jobs)

    async def _post_jobs(self, interaction: discord.Interaction[Any], jobs: list[Job]) -> None:
        """One message per job: the interaction's response for the first, followups after."""
        expires = token_expiry(interaction.created_at)
        for n, job in enumerate(jobs):
            try:
                if not interaction.response.is_done():
                    response = await interaction.response.send_message(
                        job_content(job), allowed_mentions=mentions_for(job), view=waiting_view(job)
                    )
                    message_id = response.message_id or (await interaction.original_response()).id
                elif n == 0 and thinking(interaction):  # deferred: the first job takes it over
                    message = await interaction.edit_original_response(
                        content=job_content(job),
                        allowed_mentions=mentions_for(job),
                        view=waiting_view(job),
                    )
                    message_id = message.id
                else:
                    message = await interaction.followup.send(
                        job_content(job),
                        allowed_mentions=mentions_for(job),
                        view=waiting_view(job),
                        wait=True,
                    )
                    message_id = message.id
            except discord.HTTPException as exc:
                await self.jobs.fail(job.id, f"Discord refused the job's message ({exc.status})")
                log.exception("could not post the message of job %s", job.id)
                continue
            await self.jobs.attach_message(job.id, message_id, interaction.token, expires)
        self.queue_changed()

    def queue_changed(self) -> None:
        """Jobs were queued, or may now start: the worker looks at once, and the delivery loop
        updates the waiting messages."""
        if self.worker is not None:
            self.worker.wake()
        self.delivery.notify()

    async def press(
        self, interaction: discord.Interaction[Any], action: str, index: int, item_id: int
    ) -> None:
        """A button was clicked (any message, any age). `item_id` is a job, an appeal or an
        audit record, depending on the action."""
        try:
            await self._press(interaction, action, index, item_id)
        except UserFacingError as error:
            await self.reply_error(interaction, error)

    async def reply_error(
        self, interaction: discord.Interaction[Any], error: UserFacingError
    ) -> None:
        """Tell only the person who pressed or typed what went wrong and what to do (with an
        Appeal button for an appealable blocked prompt)."""
        view = await self._blocked_prompt_view(interaction, error)
        extra: dict[str, Any] = {"view": view} if view is not None else {}
        await tell_privately(interaction, embed=error_embed(error), **extra)

    async def _blocked_prompt_view(
        self, interaction: discord.Interaction[Any], error: Exception
    ) -> discord.ui.View | None:
        """A blocked prompt: the Appeal button, or for a zero-tolerance one an alert to the
        moderators (no appeal)."""
        if not isinstance(error, BannedPrompt):
            return None
        if error.appealable:
            return appeal_view(error.audit_id)
        await moderator.alert_moderators(
            self,
            interaction.guild_id,
            "Zero-tolerance prompt blocked",
            f"<@{interaction.user.id}>: {error.description}",
        )
        return None

    async def _press(
        self, interaction: discord.Interaction[Any], action: str, index: int, item_id: int
    ) -> None:
        origin = self.origin(interaction)
        if action == "ap":
            await moderator.appeal_pressed(self, interaction, item_id)
        elif action in moderator.OUTCOMES:
            await moderator.review_pressed(self, interaction, action, item_id)
        elif action == "fav":
            favourite = await self.service.toggle_favourite(item_id, origin)
            text = (
                "Added to your favourites (/history favourites:True)."
                if favourite
                else "Removed from your favourites."
            )
            await interaction.response.send_message(text, ephemeral=True)
        elif action == "del":
            job = await self.service.delete(item_id, origin)
            await interaction.response.send_message(f"Deleted job #{job.id}.", ephemeral=True)
            if job.message_id is not None:
                channel = self.get_partial_messageable(job.channel_id, guild_id=job.guild_id)
                with contextlib.suppress(discord.HTTPException):  # already gone is fine
                    await channel.get_partial_message(job.message_id).delete()
        elif action == "x":
            await self.service.cancel(item_id, origin)
            await interaction.response.defer()  # the delivery loop updates the message
            self.delivery.notify()
        elif action in ("ok", "no"):
            jobs = await self.service.confirm(item_id, origin, start=action == "ok")
            verb = "Starting" if action == "ok" else "Cancelled"
            await interaction.response.edit_message(content=f"{verb} {len(jobs)} jobs.", view=None)
            if action == "ok":
                await self._post_jobs(interaction, jobs)
        elif action == "zc":  # Custom Zoom always asks how far first (see on_interaction)
            job = await self.service.pressable(item_id, origin)
            await interaction.response.send_modal(zoom_form(index, job))
        else:
            remixed = await self.service.remixable(action, item_id, origin)
            if remixed is not None:  # remix on: edit the prompt first (see on_interaction)
                await interaction.response.send_modal(remix_form(action, index, remixed))
                return
            child = self.service.child(action, index, item_id, origin)
            await self._post_jobs(interaction, [await self.within_deadline(interaction, child)])

    async def on_interaction(self, interaction: discord.Interaction[Any]) -> None:
        """Remix and Custom Zoom forms: handled here rather than by the form object, so a
        form opened before a restart still works."""
        try:
            submitted = form_submission(interaction)
            if submitted is None:
                return
            child = self.service.child(
                submitted.action,
                submitted.index,
                submitted.job_id,
                self.origin(interaction),
                remix_prompt=submitted.prompt,
                zoom=submitted.zoom,
            )
            job = await self.within_deadline(interaction, child)
        except UserFacingError as error:
            await self.reply_error(interaction, error)
            return
        await self._post_jobs(interaction, [job])

    async def run_approved(self, appeal: Appeal) -> None:
        """A moderator approved an appeal: run the prompt for its author, in their channel."""
        origin = Origin(
            user_id=appeal.user_id,
            channel_id=appeal.channel_id,
            guild_id=appeal.guild_id,
            interaction_id=-appeal.id,  # no interaction of the user's: key the jobs by the appeal
            application_id=self.application_id or 0,
            interaction_token="",
            created_at=utcnow(),
        )
        jobs = await self.service.imagine(appeal.prompt, origin, approved=True)
        channel = self.get_partial_messageable(appeal.channel_id, guild_id=appeal.guild_id)
        for job in jobs:
            message = await channel.send(job_content(job), allowed_mentions=mentions_for(job))
            await self.jobs.attach_message(job.id, message.id, "", utcnow())
        self.queue_changed()

    async def on_app_command_error(
        self, interaction: discord.Interaction[Any], error: app_commands.AppCommandError
    ) -> None:
        """The one handler: our errors become ephemeral embeds, anything else an error id."""
        original = getattr(error, "original", error)
        if isinstance(original, UserFacingError):
            await self.reply_error(interaction, original)
            return
        if isinstance(error, app_commands.CheckFailure):
            embed = error_embed(UserFacingError(str(error)))
        else:
            error_id = secrets.token_hex(4)
            log.error("unexpected error %s in /%s", error_id, interaction.command, exc_info=error)
            embed = unexpected_error_embed(error_id)
        await tell_privately(interaction, embed=embed)

    async def on_error(self, event_method: str, /, *args: Any, **kwargs: Any) -> None:
        log.exception("unhandled error in %s", event_method)
