"""End-to-end harness: the real bot (discord.py, SQLite, tiny model) against the fake Discord."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.app import create_bot
from bot.client import ImagineBot
from services.settings import Settings
from testing.fakediscord import Channel, FakeDiscord, Guild, User
from tests.conftest import copy_sqlite_schema

MANAGE_MESSAGES = 1 << 13


@dataclass
class World:
    fake: FakeDiscord
    guild: Guild
    channel: Channel
    alice: User
    bob: User
    mod: User


@pytest.fixture
def world(fake: FakeDiscord) -> World:
    guild = fake.add_guild("Test Server")
    channel = fake.add_channel(guild, "art")
    mods = fake.add_role(guild, "Mods", MANAGE_MESSAGES)
    alice, bob, mod = fake.add_user("alice"), fake.add_user("bob"), fake.add_user("mod")
    fake.add_member(guild, alice)
    fake.add_member(guild, bob)
    fake.add_member(guild, mod, roles=[mods])
    return World(fake, guild, channel, alice, bob, mod)


class BotRunner:
    """Starts and stops real ImagineBot instances on one data directory (restarts keep it)."""

    def __init__(self, world: World, data_dir: Path, models_dir: Path, schema: Path) -> None:
        self.world = world
        self.schema = schema
        self.settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            token=world.fake.token,
            model="tiny",
            data_dir=data_dir,
            models_dir=models_dir,
            guild_ids=[world.guild.id],
            # Answer straight away unless the work takes 2 s: response types stay predictable
            # on a slow machine (the production default, 0.15 s, is benchmarked instead).
            ack_budget_s=2.0,
            # The fake Discord sends every guild at once: no need for discord.py's 2 s wait
            # for more (each start in the suite paid it).
            guild_ready_timeout_s=0.2,
            # The semantic layers load MiniLM (about a second a start); their own tests are
            # in tests/unit/moderation and one e2e test turns them on.
            semantic_moderation=False,
        )
        self.running: list[tuple[ImagineBot, asyncio.Task[None]]] = []

    async def start(self, run_worker: bool | None = True, output_filter=None) -> ImagineBot:
        embedded = self.settings.embedded_database
        if self.settings.database_url is None and not embedded.exists():
            copy_sqlite_schema(self.schema, embedded)  # the bot's own migration is a no-op
        bot = create_bot(self.settings, run_worker=run_worker, output_filter=output_filter)
        task = asyncio.create_task(bot.start(self.world.fake.token))
        self.running.append((bot, task))
        fake = self.world.fake
        await fake.wait_for(lambda: bot.is_ready() or task.done(), timeout=60)
        if task.done():
            task.result()
        synced = fake.commands(self.world.guild) or fake.commands()
        assert synced, "the bot synced no commands"
        return bot

    async def stop(self, bot: ImagineBot) -> None:
        for running, task in list(self.running):
            if running is bot:
                await bot.close()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
                self.running.remove((running, task))

    async def stop_all(self) -> None:
        for bot, _ in list(self.running):
            await self.stop(bot)


@pytest.fixture
async def runner(world: World, tmp_path: Path, tiny_models_dir: Path, sqlite_schema: Path):
    runner = BotRunner(world, tmp_path / "data", tiny_models_dir, sqlite_schema)
    yield runner
    await runner.stop_all()
