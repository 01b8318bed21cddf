"""Fixtures shared across the tree: databases on both backends."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

POSTGRES_ADMIN_DSN = os.environ.get(
    "IMAGINEBOT_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"
)


async def _postgres_database() -> AsyncIterator[str]:
    """A fresh database on the test server; under CI=true an unreachable server fails the test."""
    import asyncpg

    try:
        conn = await asyncpg.connect(POSTGRES_ADMIN_DSN, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required under CI=true and is unreachable: {exc}")
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_ADMIN_DSN}: {exc}")
    name = f"imaginebot_t_{uuid.uuid4().hex[:12]}"
    await conn.execute(f'CREATE DATABASE "{name}"')
    try:
        base = POSTGRES_ADMIN_DSN.rsplit("/", 1)[0].replace(
            "postgresql://", "postgresql+asyncpg://"
        )
        yield f"{base}/{name}"
    finally:
        await conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await conn.close()


async def eventually(
    check: Callable[[], Awaitable[object]], what: str, timeout: float = 60.0, every: float = 0.05
) -> None:
    """Wait until `check()` is truthy, asking every `every` seconds; fail saying `what` did
    not happen within `timeout` seconds (for conditions on the database, which the fake
    Discord's wait_for cannot watch)."""
    for _ in range(int(timeout / every)):
        if await check():
            return
        await asyncio.sleep(every)
    raise AssertionError(f"{what}: not within {timeout:.0f} s")


async def database_outage(postgres_url: str, seconds: float) -> None:
    """What a database restart looks like to its clients: every connection is cut, and new
    ones are refused for a while."""
    import asyncpg

    name = postgres_url.rsplit("/", 1)[1]
    admin = await asyncpg.connect(POSTGRES_ADMIN_DSN)
    try:
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name
        )
        await asyncio.sleep(seconds)
    finally:
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        await admin.close()


@pytest.fixture
async def postgres_sessions() -> AsyncIterator[object]:
    """Sessions on a fresh PostgreSQL database with the current schema (procrastinate's too)."""
    from db import make_engine, make_sessionmaker, upgrade_schema

    async for url in _postgres_database():
        engine = make_engine(url)
        await upgrade_schema(engine)
        yield make_sessionmaker(engine)
        await engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """The same repository tests run on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
        return
    async for url in _postgres_database():
        yield url


@pytest.fixture(scope="session")
def tiny_models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One models folder per test session: the tiny preset is built there once and reused."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture
async def fake() -> AsyncIterator[object]:
    """A running fake Discord with discord.py pointed at it (restored afterwards)."""
    import discord.gateway
    import discord.http
    import yarl

    from tests.fakediscord import FakeDiscord

    server = FakeDiscord()
    await server.start()
    base, gateway = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    discord.http.Route.BASE = server.api_base  # type: ignore[misc]
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(server.gateway_url)
    try:
        yield server
    finally:
        discord.http.Route.BASE = base  # type: ignore[misc]
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = gateway
        await server.stop()
