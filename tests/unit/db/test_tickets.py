"""Dispatch tickets on PostgreSQL: written in the same transaction as the change that makes a
job startable, and only then (db/tickets.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import make_url, text, update

from db import (
    GuildRepository,
    JobState,
    WorkerJobs,
)
from db.models import Job
from db.tickets import QUEUE, TASK, conninfo
from testing.jobs import job_tables
from tests.unit.db.test_jobs import _new

pytestmark = pytest.mark.postgres


@pytest.fixture
def sessions(postgres_sessions):
    return postgres_sessions


async def _tickets(sessions) -> list[int]:
    """The job ids of the waiting tickets, oldest ticket first."""
    async with sessions() as session:
        rows = await session.execute(
            text("SELECT task_name, queue_name, status, args FROM procrastinate_jobs ORDER BY id")
        )
        found = rows.all()
    assert all((r.task_name, r.queue_name, r.status) == (TASK, QUEUE, "todo") for r in found)
    return [r.args["job_id"] for r in found]


async def _clear(sessions) -> None:
    async with sessions() as session, session.begin():
        await session.execute(text("DELETE FROM procrastinate_jobs"))


async def test_queued_jobs_come_with_a_ticket_each_and_a_retried_key_adds_none(sessions):
    repo = job_tables(sessions)
    first, _ = await repo.member.create(_new(interaction=1))
    # The batch's first INSERT fails on the existing key and is rolled back with its tickets;
    # only the new job's ticket is written by the second transaction.
    batch = await repo.member.create_many([_new(interaction=1), _new(interaction=2)])
    assert [created for _, created in batch] == [False, True]
    assert await _tickets(sessions) == [first.id, batch[1][0].id]


async def test_a_held_batch_gets_tickets_when_confirmed_not_before(sessions):
    repo = job_tables(sessions)
    held = [
        job
        for job, _ in await repo.member.create_many(
            [_new(interaction=5, idempotency_key=f"5:{n}") for n in range(3)], JobState.HELD
        )
    ]
    assert await _tickets(sessions) == []
    await repo.member.release_held(5, 1, queue=True)
    assert await _tickets(sessions) == [job.id for job in held]


async def _at_the_limit(repo, sessions, waiting):
    """The owner of job 1.. runs as many jobs as the limit allows, `waiting` more wait, and no
    ticket is left (claims that found nothing startable used them)."""
    limit = repo.worker.max_running_per_user
    jobs = [
        (await repo.member.create(_new(interaction=n)))[0] for n in range(1, limit + waiting + 1)
    ]
    running = [await repo.worker.claim_next("w") for _ in range(limit)]
    assert [job.id for job in running] == [job.id for job in jobs[:limit]]
    assert await repo.worker.claim_next("w") is None
    await _clear(sessions)
    return running, jobs[limit:]


async def test_each_ended_job_of_an_owner_with_jobs_waiting_writes_a_ticket(sessions):
    repo = job_tables(sessions, max_running_per_user=3)
    running, waiting = await _at_the_limit(repo, sessions, waiting=4)
    # Two slots free before either ticket is used: two tickets, so two jobs can start.
    await repo.worker.finish(running[0].id, [], [1], 1.0, "w")
    await repo.worker.fail(running[1].id, "boom", "w")
    assert await _tickets(sessions) == [waiting[0].id, waiting[0].id]
    assert [(await repo.worker.claim_next("w")).id for _ in range(2)] == [w.id for w in waiting[:2]]


async def test_a_late_result_from_a_worker_that_lost_the_job_writes_no_ticket(sessions):
    repo = job_tables(sessions, max_running_per_user=1)
    running, waiting = await _at_the_limit(repo, sessions, waiting=1)
    await repo.worker.finish(running[0].id, [], [1], 1.0, "a-worker-that-lost-it")
    assert await _tickets(sessions) == []
    assert (await repo.member.get(running[0].id)).state == JobState.RUNNING


async def test_no_ticket_when_tickets_wait_for_every_queued_job_or_none_of_the_owner_s_waits(
    sessions,
):
    repo = job_tables(sessions, max_running_per_user=2)
    running, waiting = await _at_the_limit(repo, sessions, waiting=1)
    await repo.member.cancel(waiting[0].id)  # their last waiting job
    await repo.worker.finish(running[0].id, [], [1], 1.0, "w")  # nothing of theirs waits
    assert await _tickets(sessions) == []
    other, _ = await repo.member.create(_new(user=2, interaction=50))  # comes with its ticket
    assert await _tickets(sessions) == [other.id]
    await repo.member.create(_new(interaction=51))
    await _clear(sessions)
    await repo.member.create(_new(interaction=52))  # now two queued jobs, one ticket waiting
    await repo.worker.finish(running[1].id, [], [1], 1.0, "w")
    assert len(await _tickets(sessions)) == 2  # one more: as many as queued jobs


async def test_jobs_failed_after_too_many_interruptions_free_a_slot_each(sessions):
    repo = job_tables(sessions, max_running_per_user=3)
    running, waiting = await _at_the_limit(repo, sessions, waiting=3)
    assert await repo.worker.recover_running(max_attempts=1, worker_id="w") == 3  # all three fail
    assert [(await repo.member.get(job.id)).state for job in running] == [JobState.FAILED] * 3
    assert len(await _tickets(sessions)) == 3


async def test_a_tighter_guild_limit_still_gets_its_ticket(sessions):
    repo = job_tables(sessions, max_running_per_user=3)
    await GuildRepository(sessions).set_job_limits(20, max_running_jobs=1)
    running, _ = await repo.member.create(_new(interaction=1))
    waiting, _ = await repo.member.create(_new(interaction=2))
    assert (await repo.worker.claim_next("w")).id == running.id
    assert await repo.worker.claim_next("w") is None
    await _clear(sessions)
    await repo.worker.finish(running.id, [], [1], 1.0, "w")
    assert await _tickets(sessions) == [waiting.id]
    assert (await repo.worker.claim_next("w")).id == waiting.id


async def test_resuming_a_guild_queue_or_changing_its_limit_tickets_its_queued_jobs(sessions):
    repo, moderation = job_tables(sessions), GuildRepository(sessions)
    ours = [(await repo.member.create(_new(interaction=n)))[0] for n in (1, 2)]
    await repo.member.create(_new(interaction=3, guild_id=99))
    await moderation.set_queue_paused(20, True)
    await _clear(sessions)
    await moderation.set_allow_stealth(20, True)  # unrelated settings write no tickets
    assert await _tickets(sessions) == []
    await moderation.set_queue_paused(20, False)
    assert await _tickets(sessions) == [job.id for job in ours]
    await _clear(sessions)
    await moderation.set_job_limits(20, max_running_jobs=2)
    assert await _tickets(sessions) == [job.id for job in ours]


async def test_jobs_of_a_dead_worker_are_requeued_with_tickets(sessions):
    repo = job_tables(sessions)
    job, _ = await repo.member.create(_new(interaction=1))
    await repo.worker.claim_next("dead")
    await _clear(sessions)
    assert await repo.worker.recover_running(max_attempts=3, worker_id="dead") == 1
    assert await _tickets(sessions) == [job.id]


async def test_a_claim_over_its_owners_running_limit_goes_back_with_a_ticket(sessions):
    # Two workers' claims overlapped: each started a job of the same member, in different
    # guilds, and the limit is 1. The check each runs after its claim gives a job back while
    # the member is over the limit, with a ticket; the one left alone is kept.
    repo = job_tables(sessions, max_running_per_user=1)
    here, _ = await repo.member.create(_new(interaction=1))
    there, _ = await repo.member.create(_new(interaction=2, guild_id=21))
    first = await repo.worker.claim_next("w0")
    assert first.id == here.id
    async with sessions() as session, session.begin():  # the other worker's claim
        await session.execute(
            update(Job)
            .where(Job.id == there.id)
            .values(state=JobState.RUNNING, worker_id="w1", attempts=1, progress=0)
        )
    await _clear(sessions)
    limits = {"max_running": repo.worker.max_running_per_user}
    async with sessions() as session:
        await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        second = await session.get(Job, there.id)
        assert await WorkerJobs._gave_back(session, second, limits)
        kept = await session.get(Job, here.id, populate_existing=True)
        assert not await WorkerJobs._gave_back(session, kept, limits)
    assert await _tickets(sessions) == [there.id]
    back = await repo.member.get(there.id)
    assert (back.state, back.attempts, back.worker_id, back.progress) == (
        JobState.QUEUED, 0, None, -1
    )  # fmt: skip
    assert (await repo.member.get(here.id)).state == JobState.RUNNING


async def test_the_safety_net_tops_tickets_up_to_the_queued_jobs(sessions):
    repo = job_tables(sessions)
    await repo.worker.top_up_tickets()
    assert await _tickets(sessions) == []  # nothing waits
    jobs = [(await repo.member.create(_new(interaction=n)))[0] for n in (1, 2, 3)]
    await repo.worker.top_up_tickets()
    assert len(await _tickets(sessions)) == 3  # a ticket waits for each already
    await _clear(sessions)
    await repo.member.create(_new(interaction=4))
    await repo.worker.top_up_tickets()
    assert len(await _tickets(sessions)) == 4
    assert set(await _tickets(sessions)) >= {job.id for job in jobs[:3]}


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "postgresql+asyncpg://bot:s3cret@db:5433/imaginebot",
            "postgresql://bot:s3cret@db:5433/imaginebot",
        ),
        (
            "postgresql+asyncpg://bot@db/ib?ssl=verify-full&prepared_statement_cache_size=0",
            "postgresql://bot@db/ib?sslmode=verify-full",
        ),
        ("postgresql+asyncpg://bot@db/ib?ssl=true", "postgresql://bot@db/ib?sslmode=require"),
    ],
)
def test_procrastinate_connects_to_the_same_database_with_libpq_options(url, expected):
    assert conninfo(make_url(url)) == expected
