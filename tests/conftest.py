"""Fixtures shared across the tree: databases on both backends."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import pytest

T = TypeVar("T")

# The semantic layers (MiniLM, about a second to load) are on by default where the extra is
# installed, as the test extra installs it; the tree's bots and processes run without them
# unless a test turns them on (tests/unit/moderation tests them).
os.environ.setdefault("IMAGINEBOT_SEMANTIC_MODERATION", "false")

POSTGRES_ADMIN_DSN = os.environ.get(
    "IMAGINEBOT_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"
)


async def _admin_connection():  # type: ignore[no-untyped-def]
    """A connection to the test server's admin database; under CI=true an unreachable server
    fails the test, elsewhere it skips it."""
    import asyncpg

    try:
        return await asyncpg.connect(POSTGRES_ADMIN_DSN, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required under CI=true and is unreachable: {exc}")
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_ADMIN_DSN}: {exc}")


def _postgres_url(name: str) -> str:
    base = POSTGRES_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    return f"{base}/{name}"


async def _postgres_database(template: str | None = None) -> AsyncIterator[str]:
    """A fresh database on the test server, empty or a copy of the database `template`."""
    conn = await _admin_connection()
    name = f"imaginebot_t_{uuid.uuid4().hex[:12]}"
    copy = f' TEMPLATE "{template}"' if template else ""
    await conn.execute(f'CREATE DATABASE "{name}"{copy}')
    try:
        yield _postgres_url(name)
    finally:
        await conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await conn.close()


def _run_apart(work: Awaitable[T]) -> T:
    """Run `work` on an event loop of its own, in a thread: session fixtures are first
    asked for by sync and async fixtures alike, and an async one's loop is running."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, work).result()  # type: ignore[arg-type]


async def _migrate(url: str) -> None:
    from db import make_engine, upgrade_schema

    engine = make_engine(url)
    try:
        await upgrade_schema(engine)
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def sqlite_schema(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file at the current schema, migrated once per test session: tests that are
    not about migrations start from a copy (copy_sqlite_schema), where running the
    migrations took half a second a test."""
    path = tmp_path_factory.mktemp("schema") / "schema.db"
    _run_apart(_migrate(f"sqlite+aiosqlite:///{path}"))
    assert not path.with_name("schema.db-wal").exists(), "closing checkpoints the WAL"
    return path


def copy_sqlite_schema(schema: Path, to: Path) -> str:
    """A SQLite database at `to` with the current schema (a copy of `schema`); its URL."""
    to.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(schema, to)
    return f"sqlite+aiosqlite:///{to}"


@pytest.fixture(scope="session")
def postgres_schema() -> Iterator[str]:
    """A PostgreSQL database at the current schema (procrastinate's included), migrated once
    per test session: the template that migrated test databases are copied from."""

    async def create() -> str:
        conn = await _admin_connection()
        name = f"imaginebot_schema_{uuid.uuid4().hex[:12]}"
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        await _migrate(_postgres_url(name))
        return name

    async def drop(name: str) -> None:
        conn = await _admin_connection()
        try:
            await conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    name = _run_apart(create())
    yield name
    _run_apart(drop(name))


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
async def postgres_sessions(postgres_schema: str) -> AsyncIterator[object]:
    """Sessions on a fresh PostgreSQL database with the current schema (procrastinate's too)."""
    from db import make_engine, make_sessionmaker

    async for url in _postgres_database(template=postgres_schema):
        engine = make_engine(url)
        yield make_sessionmaker(engine)
        await engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database, on SQLite and on PostgreSQL (for tests of the migrations)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
        return
    async for url in _postgres_database():
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def migrated_database_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_schema: Path
) -> AsyncIterator[str]:
    """A database at the current schema, on SQLite and on PostgreSQL: the same repository
    tests run on both."""
    if request.param == "sqlite":
        yield copy_sqlite_schema(sqlite_schema, tmp_path / "test.db")
        return
    template = request.getfixturevalue("postgres_schema")
    async for url in _postgres_database(template=template):
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

    from testing.fakediscord import FakeDiscord

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


@pytest.fixture
async def image_server():
    """A real HTTP server on 127.0.0.1 for image prompts (testing/imageserver.py)."""
    from testing.imageserver import ImageServer

    server = ImageServer()
    await server.start()
    yield server
    await server.stop()
