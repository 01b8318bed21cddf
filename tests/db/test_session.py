"""The PostgreSQL engine's pooled connections: checked before use only after lying idle."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from db import (
    JobRepository,
    JobState,
    StoredImage,
    make_engine,
    make_sessionmaker,
    session,
    upgrade_schema,
)
from tests.conftest import POSTGRES_ADMIN_DSN, _postgres_database
from tests.db.test_jobs import _new

pytestmark = pytest.mark.postgres


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


async def test_a_connection_used_in_autocommit_gives_the_next_session_a_transaction(
    engine: AsyncEngine,
):
    # The claim and finish run in autocommit on a pooled connection; the next session on
    # that connection (the only one: everything here runs one after another) must still be
    # able to roll back.
    await upgrade_schema(engine)
    repo = JobRepository(make_sessionmaker(engine))
    job, _ = await repo.create(_new())
    await repo.claim_next("w")
    await repo.finish(job.id, [StoredImage(1, "a" * 64, 64, 64, 1)], [1], 0.5, "w")
    with pytest.raises(RuntimeError):
        async with repo.sessions() as s, s.begin():
            await s.execute(text("UPDATE jobs SET prompt = 'changed'"))
            raise RuntimeError("given up")
    kept = await repo.get(job.id)
    assert kept.prompt == job.prompt and kept.state == JobState.DONE
    assert engine.sync_engine.pool.checkedin() == 1  # one connection served all of it
