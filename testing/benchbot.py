"""A running bot against the local fake Discord, for the benchmarks (one guild, one channel)."""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import discord.gateway
import discord.http
import yarl

from bot.app import create_bot
from bot.client import ImagineBot
from services.settings import Settings
from testing.fakediscord import Channel, FakeDiscord, Guild, User


@dataclass
class Served:
    fake: FakeDiscord
    bot: ImagineBot
    channel: Channel
    members: list[User]


@dataclass
class BenchGuild:
    fake: FakeDiscord
    guild: Guild
    channel: Channel
    members: list[User]


@contextlib.asynccontextmanager
async def bench_guild(users: int) -> AsyncIterator[BenchGuild]:
    """A running fake Discord with one guild, one channel and `users` members."""
    fake = FakeDiscord()
    await fake.start()
    guild = fake.add_guild("Bench")
    channel = fake.add_channel(guild, "art")
    members = [fake.add_user(f"user{n}") for n in range(users)]
    for member in members:
        fake.add_member(guild, member)
    try:
        yield BenchGuild(fake, guild, channel, members)
    finally:
        await fake.stop()


@contextlib.asynccontextmanager
async def served(users: int, **settings: Any) -> AsyncIterator[Served]:
    """The tiny-model bot, ready, with `users` members in its guild; `settings` override."""
    async with bench_guild(users) as world, _bot(world, settings) as bot:
        yield Served(world.fake, bot, world.channel, world.members)


@contextlib.asynccontextmanager
async def _bot(world: BenchGuild, settings: dict[str, Any]) -> AsyncIterator[ImagineBot]:
    fake, guild = world.fake, world.guild
    discord.http.Route.BASE = fake.api_base  # type: ignore[misc]
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(fake.gateway_url)
    with tempfile.TemporaryDirectory() as data:
        bot = create_bot(
            Settings(
                _env_file=None,  # type: ignore[call-arg]
                token=fake.token,
                model="tiny",
                data_dir=Path(data),
                guild_ids=[guild.id],
                **{"semantic_moderation": False, **settings},
            )
        )
        task = asyncio.create_task(bot.start(fake.token))
        await fake.wait_for(bot.is_ready, timeout=120)
        try:
            yield bot
        finally:
            await bot.close()
            task.cancel()
