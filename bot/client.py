"""The discord.py client: start-up, command sync, the interaction router and the one error
handler. It knows no feature: those are extensions (bot/cogs/) loaded at start-up, which add
their commands to the tree and their handlers to the router; bot/app.py composes them."""

from __future__ import annotations

import asyncio
import gc
import logging
import secrets
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

import aiohttp
import discord
from discord import app_commands
from discord.ext import commands

from bot.delivery.invalid import InvalidRequests, counting_trace
from bot.delivery.posting import Posting
from bot.delivery.replies import Acknowledger, tell_privately
from bot.delivery.updates import Delivery
from bot.lag import LagMonitor
from bot.origins import origin_of
from bot.router import Router
from bot.ui.components import Routed
from bot.ui.errors import error_embed, unexpected_error_embed
from bot.ui.review import appeal_view
from services.container import Services
from services.errors import BannedPrompt, UserFacingError
from services.origin import Origin

log = logging.getLogger(__name__)
Background = Callable[[], Coroutine[Any, Any, None]]


class ImagineBot(commands.AutoShardedBot):
    """The bot. Sharded by discord.py: one shard unless IMAGINEBOT_SHARDS asks for more
    (`auto` takes Discord's recommendation, which large bots need).

    Events it dispatches to extensions' listeners: `zero_tolerance_block(interaction,
    error)` when a prompt under a zero-tolerance rule was refused, `block_strike(interaction,
    error)` when a refusal made a strike, and (from delivery)
    `result_withheld(job)` when an output filter withheld a result.
    """

    def __init__(self, services: Services, extensions: Sequence[str]) -> None:
        settings = services.settings
        invalid = InvalidRequests(settings.invalid_request_budget)
        intents = discord.Intents.none()
        intents.guilds = True
        super().__init__(
            # No prefix commands: without the message intents no message ever arrives.
            command_prefix=commands.when_mentioned,
            help_command=None,
            intents=intents,
            # Nothing pings unless a message opts in (only ever the requesting user).
            allowed_mentions=discord.AllowedMentions.none(),
            shard_count=None if settings.shards == "auto" else settings.shards,
            guild_ready_timeout=settings.guild_ready_timeout_s,
            http_trace=counting_trace(invalid),
        )
        self.settings = settings
        self.services = services
        self.feature_extensions = tuple(extensions)
        self.tree.on_error = self.on_app_command_error  # type: ignore[method-assign]
        self.router = Router(self.reply_error)
        self.acks = Acknowledger(settings.ack_budget_s)
        self.posting = Posting(self, services.delivery_jobs, services.events)
        self.delivery = Delivery(
            self,
            services.delivery_jobs,
            services.store,
            services.answers.shown_prompts,
            invalid,
            services.links,
            services.health.workers,
            self.settings.lease_seconds,
        )
        services.events.subscribe(self.delivery.notify)
        # The in-process worker, when this bot renders (bot/app.py sets it).
        self.worker: Any = None
        self.lag = LagMonitor()
        self._background: list[tuple[str, Background]] = [
            ("delivery", self.delivery.run),
            ("lag-monitor", self.lag.run),
        ]
        self._tasks: list[asyncio.Task[None]] = []

    def add_background(self, name: str, run: Background) -> None:
        """Run `run()` from start-up until the bot closes (call before starting)."""
        self._background.append((name, run))

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
        await self.services.start()
        self.add_dynamic_items(Routed)
        for extension in self.feature_extensions:
            await self.load_extension(extension)
        unhandled = self.router.unhandled()
        if unhandled:
            raise RuntimeError(f"custom_ids nothing answers: {', '.join(unhandled)}")
        await self._sync_commands()
        for name, run in self._background:
            self._tasks.append(asyncio.create_task(run(), name=name))
        gc.collect()  # the libraries loaded by now are permanent: see Worker.run
        gc.freeze()

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
        await self.services.close()
        gc.unfreeze()  # what setup_hook froze may be garbage now (a process that goes on)

    def origin(self, interaction: discord.Interaction[Any]) -> Origin:
        return origin_of(interaction, self.settings.mod_role_ids)

    def queue_changed(self) -> None:
        """Jobs were queued, or may now start: the worker looks at once, and the delivery
        loop updates the waiting messages."""
        self.services.events.changed()

    async def on_interaction(self, interaction: discord.Interaction[Any]) -> None:
        """Submitted forms go to the router here rather than to the form object, so a form
        opened before a restart still works (clicks reach it through Routed)."""
        if interaction.type == discord.InteractionType.modal_submit:
            custom_id = str((interaction.data or {}).get("custom_id", ""))
            if self.router.handler_for(custom_id) is not None:
                await self.router.route(interaction)

    async def reply_error(self, interaction: discord.Interaction[Any], error: Exception) -> None:
        """The one error handler: what a member can act on goes to them alone (with an Appeal
        button for an appealable blocked prompt); anything else gets an error id, and the
        log the traceback."""
        if not isinstance(error, UserFacingError):
            error_id = secrets.token_hex(4)
            command = interaction.command
            where = (
                f"/{command.qualified_name}"
                if command
                else (interaction.data or {}).get("custom_id")
            )
            log.error("unexpected error %s in %s", error_id, where, exc_info=error)
            await tell_privately(interaction, embed=unexpected_error_embed(error_id))
            return
        extra: dict[str, Any] = {}
        if isinstance(error, BannedPrompt) and error.appealable:
            extra["view"] = appeal_view(error.audit_id)
        elif isinstance(error, BannedPrompt):
            self.dispatch("zero_tolerance_block", interaction, error)
        if isinstance(error, BannedPrompt) and error.strike is not None:
            self.dispatch("block_strike", interaction, error)
        await tell_privately(interaction, embed=error_embed(error), **extra)

    async def on_app_command_error(
        self, interaction: discord.Interaction[Any], error: app_commands.AppCommandError
    ) -> None:
        original = getattr(error, "original", error)
        if isinstance(error, app_commands.CheckFailure) and original is error:
            original = UserFacingError(str(error))
        await self.reply_error(interaction, original)

    async def on_error(self, event_method: str, /, *args: Any, **kwargs: Any) -> None:
        log.exception("unhandled error in %s", event_method)
