"""A worker on PostgreSQL takes its jobs through procrastinate's dispatch tickets."""

from __future__ import annotations

import asyncio

import psycopg
import pytest
from sqlalchemy import text

from db import ImageStore, JobState, session
from db.tickets import QUEUE, TASK, conninfo
from inference.ticket_worker import TicketWorker, checking_idle_connections
from inference.worker import Worker
from testing.jobs import JobTables, job_tables
from tests.conftest import database_outage, eventually
from tests.unit.inference.worker_jobs import new_job, tiny_pool

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_repo(postgres_sessions) -> JobTables:
    return job_tables(postgres_sessions)


async def _query(repo: JobTables, sql: str) -> list:
    async with repo.sessions() as session, session.begin():
        result = await session.execute(text(sql))
        return list(result.all()) if result.returns_rows else []


async def test_a_ticket_wakes_the_worker_which_renders_the_job_and_drops_the_ticket(
    pg_repo, tmp_path, tiny_models_dir
):
    # Polls only once an hour: the job can only reach it through its ticket's notification.
    worker = Worker(
        pg_repo.worker, ImageStore(tmp_path / "images"), tiny_pool(tiny_models_dir), "w1",
        poll_interval=3600, lease_s=3600, sole_worker=False,
    )  # fmt: skip
    serving = asyncio.create_task(worker.run())
    try:

        async def listening():
            rows = await _query(
                pg_repo, "SELECT 1 FROM pg_stat_activity WHERE query LIKE 'LISTEN %'"
            )
            return bool(rows)

        await eventually(listening, "the worker listening for tickets")
        await asyncio.sleep(0.2)  # past procrastinate's first look at the (empty) queue
        job, _ = await pg_repo.member.create(new_job("a red fox --seed 3"))

        async def ended():
            return (await pg_repo.member.get(job.id)).state not in (
                JobState.QUEUED,
                JobState.RUNNING,
            )

        await eventually(ended, "the job ended")
        done = await pg_repo.member.get(job.id)
        assert done.state == JobState.DONE, done.error
        assert done.worker_id == "w1" and len(done.images) == 5
        assert await _query(pg_repo, "SELECT id FROM procrastinate_jobs") == []
    finally:
        serving.cancel()
        await asyncio.wait_for(asyncio.gather(serving, return_exceptions=True), 30)


async def test_tickets_a_dead_worker_held_are_removed(pg_repo, tmp_path, tiny_models_dir):
    worker = Worker(
        pg_repo.worker, ImageStore(tmp_path / "images"), tiny_pool(tiny_models_dir), "w1",
        sole_worker=False,
    )  # fmt: skip
    job, _ = await pg_repo.member.create(new_job("a fox"))
    [(dead,), (alive,)] = [
        (await _query(pg_repo, f"INSERT INTO procrastinate_workers (last_heartbeat) VALUES ({at})"
                      " RETURNING id"))[0]
        for at in ("now() - interval '1 hour'", "now()")
    ]  # fmt: skip
    await _query(
        pg_repo,
        "INSERT INTO procrastinate_jobs (queue_name, task_name, args, status, worker_id)"
        f" VALUES ('{QUEUE}', '{TASK}', '{{}}', 'doing', {dead}),"
        f" ('{QUEUE}', '{TASK}', '{{}}', 'doing', {alive})",
    )
    tickets = worker._tickets
    assert tickets is not None
    assert await tickets.remove_stalled() == 0  # not serving yet (the model is loading)
    async with tickets.app.open_async():
        assert await tickets.remove_stalled() == 1
    left = await _query(pg_repo, "SELECT status, worker_id, args FROM procrastinate_jobs")
    # The live worker's ticket stays; so does the new job's own (waiting) ticket.
    assert sorted((r.status, r.worker_id) for r in left) == [("doing", alive), ("todo", None)]


@pytest.mark.slow
async def test_a_ticket_worker_stops_when_cancelled_while_the_database_is_down(pg_repo):
    worker = TicketWorker(conninfo(pg_repo.worker.url), _nothing, "w1", poll_interval=0.5)
    serving = asyncio.create_task(worker.serve())
    try:

        async def registered():
            return bool(await _query(pg_repo, "SELECT id FROM procrastinate_workers"))

        await eventually(registered, "the worker registered")
        await pg_repo.sessions.kw["bind"].dispose()  # our own connections go with the outage
        outage = asyncio.create_task(
            database_outage(pg_repo.worker.url.render_as_string(False), 40)
        )
        await asyncio.sleep(1.0)
        serving.cancel()
        # It ends while the database is still down (procrastinate cannot sign it off),
        # instead of starting procrastinate's worker again.
        done, _ = await asyncio.wait([serving], timeout=30)
        assert done and serving.cancelled()
        assert not outage.done()
    finally:
        serving.cancel()
        await asyncio.gather(serving, return_exceptions=True)
        if "outage" in locals():
            outage.cancel()
            await asyncio.gather(outage, return_exceptions=True)


async def _nothing() -> bool:
    return False


async def _backend_after_the_server_dropped_it(repo: JobTables) -> tuple[int, int]:
    """A ticket pool's connection is used, cut from the server's side (as a database restart
    does), and the pool asked for a connection again: the two backends' ids."""
    pool = checking_idle_connections(
        conninfo=conninfo(repo.worker.url), min_size=1, max_size=1, open=False
    )
    await pool.open(wait=True)
    try:
        async with pool.connection() as connection:
            first = await (await connection.execute("SELECT pg_backend_pid()")).fetchone()
        await _query(repo, f"SELECT pg_terminate_backend({first[0]})")
        async with pool.connection() as connection:
            second = await (await connection.execute("SELECT pg_backend_pid()")).fetchone()
        return first[0], second[0]
    finally:
        await pool.close()


async def test_the_ticket_pool_replaces_an_idle_connection_the_server_dropped(pg_repo, monkeypatch):
    monkeypatch.setattr(session, "PING_AFTER_IDLE_S", 0.0)  # every connection counts as idle
    first, second = await _backend_after_the_server_dropped_it(pg_repo)
    assert second != first


async def test_the_ticket_pool_does_not_check_a_connection_in_steady_use(pg_repo):
    with pytest.raises(psycopg.OperationalError):  # reused at once: unchecked, so it fails
        await _backend_after_the_server_dropped_it(pg_repo)
