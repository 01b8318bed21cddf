"""The PostgreSQL engine's pooled connections: checked before use only after lying idle."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from db import make_engine, session
from tests.conftest import POSTGRES_ADMIN_DSN, _postgres_database


@pytest.fixture
async def engine() -> AsyncIterator[AsyncEngine]:
    async for url in _postgres_database():
        made = make_engine(url)
        yield made
        await made.dispose()


async def _server_drops_its_connections(engine: AsyncEngine) -> None:
    """Cut the pooled connection from the server's side, as a database restart does."""
    admin = await asyncpg.connect(POSTGRES_ADMIN_DSN)
    try:
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
            engine.url.database,
        )
    finally:
        await admin.close()


async def _backend(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int(await connection.scalar(text("SELECT pg_backend_pid()")))


async def test_an_idle_connection_the_server_dropped_is_replaced_unseen(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await _backend(engine)
    await _server_drops_its_connections(engine)
    monkeypatch.setattr(session, "PING_AFTER_IDLE_S", 0.0)  # every checkout counts as idle
    assert await _backend(engine) != first  # no error: the checkout found it dead


async def test_a_busy_connection_is_not_pinged_and_fails_once_after_a_restart(
    engine: AsyncEngine,
) -> None:
    first = await _backend(engine)
    await _server_drops_its_connections(engine)
    with pytest.raises(DBAPIError) as failure:  # used again at once: no ping, so it fails
        await _backend(engine)
    assert failure.value.connection_invalidated
    assert await _backend(engine) != first  # the pool replaced it: the next one works
