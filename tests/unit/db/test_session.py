"""The PostgreSQL engine's pooled connections: checked before use only after lying idle."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from db import (
    JobState,
    StoredImage,
    make_engine,
    make_sessionmaker,
    session,
)
from testing.jobs import job_tables
from tests.conftest import _postgres_database, database_outage
from tests.unit.db.test_jobs import _new

pytestmark = pytest.mark.postgres


@pytest.fixture
async def engine(postgres_schema: str) -> AsyncIterator[AsyncEngine]:
    async for url in _postgres_database(template=postgres_schema):
        made = make_engine(url)
        yield made
        await made.dispose()


async def _backend(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int(await connection.scalar(text("SELECT pg_backend_pid()")))


async def test_an_idle_connection_the_server_dropped_is_replaced_unseen(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await _backend(engine)
    await database_outage(engine.url.render_as_string(False), seconds=0)  # connections cut
    monkeypatch.setattr(session, "PING_AFTER_IDLE_S", 0.0)  # every checkout counts as idle
    assert await _backend(engine) != first  # no error: the checkout found it dead


async def test_a_busy_connection_is_not_pinged_and_fails_once_after_a_restart(
    engine: AsyncEngine,
) -> None:
    first = await _backend(engine)
    await database_outage(engine.url.render_as_string(False), seconds=0)  # connections cut
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
    repo = job_tables(make_sessionmaker(engine))
    job, _ = await repo.member.create(_new())
    await repo.worker.claim_next("w")
    await repo.worker.finish(job.id, [StoredImage(1, "a" * 64, 64, 64, 1)], [1], 0.5, "w")
    with pytest.raises(RuntimeError):
        async with repo.sessions() as s, s.begin():
            await s.execute(text("UPDATE jobs SET prompt = 'changed'"))
            raise RuntimeError("given up")
    kept = await repo.member.get(job.id)
    assert kept.prompt == job.prompt and kept.state == JobState.DONE
    assert engine.sync_engine.pool.checkedin() == 1  # one connection served all of it
