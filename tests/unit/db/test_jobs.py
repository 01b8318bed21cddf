from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import select, text

from db import GuildRepository, JobState, NewJob, StoredImage
from db.jobs import PAUSED
from db.models import Job, utcnow
from testing.jobs import job_tables


def _new(user: int = 1, interaction: int | None = 100, **kw: object) -> NewJob:
    values: dict[str, object] = dict(
        idempotency_key=f"{interaction}:0",
        user_id=user,
        channel_id=10,
        guild_id=20,
        prompt="a red fox --seed 42",
        request={"prompts": [{"text": "a red fox", "weight": 1.0}]},
        model="tiny",
        action="imagine",
        interaction_id=interaction,
        seed=42,
    )
    values.update(kw)
    return NewJob(**values)  # type: ignore[arg-type]


async def test_same_interaction_creates_one_job(sessions):
    repo = job_tables(sessions)
    first, created = await repo.member.create(_new())
    again, created_again = await repo.member.create(_new())
    assert created and not created_again
    assert again.id == first.id


async def test_claim_runs_oldest_first_and_each_job_once(sessions):
    repo = job_tables(sessions)
    a, _ = await repo.member.create(_new(interaction=1))
    b, _ = await repo.member.create(_new(interaction=2))
    claimed = [
        await repo.worker.claim_next("w1"),
        await repo.worker.claim_next("w2"),
        await repo.worker.claim_next("w1"),
    ]
    assert [j.id if j else None for j in claimed] == [a.id, b.id, None]
    assert claimed[0].state == JobState.RUNNING and claimed[0].attempts == 1


async def test_finish_stores_images_seeds_and_state(sessions):
    repo = job_tables(sessions)
    job, _ = await repo.member.create(_new())
    await repo.worker.claim_next("w")
    images = [StoredImage(i, f"{i:064x}", 64, 64, 42 + i - 1 if i else None) for i in range(5)]
    await repo.worker.finish(job.id, images, [42, 43, 44, 45], gpu_seconds=1.5)
    done = await repo.member.get(job.id)
    assert done.state == JobState.DONE and done.progress == 100
    assert done.seeds == [42, 43, 44, 45]
    assert [(i.index, i.seed) for i in done.images] == [
        (0, None),
        (1, 42),
        (2, 43),
        (3, 44),
        (4, 45),
    ]
    assert done.finished_at.tzinfo is not None


async def test_running_jobs_are_requeued_then_failed_after_max_attempts(sessions):
    repo = job_tables(sessions)
    job, _ = await repo.member.create(_new())
    await repo.worker.claim_next("dead-worker")
    assert await repo.worker.recover_running(max_attempts=2) == 1
    assert (await repo.member.get(job.id)).state == JobState.QUEUED
    await repo.worker.claim_next("dead-again")
    await repo.worker.recover_running(max_attempts=2)
    failed = await repo.member.get(job.id)
    assert failed.state == JobState.FAILED and "interrupted 2 times" in failed.error


async def test_delivery_is_marked_once(sessions):
    repo = job_tables(sessions)
    job, _ = await repo.member.create(_new())
    await repo.worker.claim_next("w")
    await repo.worker.finish(job.id, [], [1], 0.1)
    assert [j.id for j in await repo.delivery.needing_delivery()] == [job.id]
    assert await repo.delivery.mark_delivered(job.id, 555) is True
    assert await repo.delivery.mark_delivered(job.id, 556) is False
    assert await repo.delivery.needing_delivery() == []
    assert (await repo.member.get(job.id)).result_message_id == 555


async def test_progress_shows_up_for_delivery_until_marked_shown(sessions):
    repo = job_tables(sessions)
    job, _ = await repo.member.create(_new())
    assert (
        await repo.delivery.needing_delivery() == []
    )  # queued: the waiting message is already right
    await repo.worker.claim_next("w")
    assert [j.progress for j in await repo.delivery.needing_delivery()] == [0]
    await repo.delivery.mark_shown(job.id, 0)
    assert await repo.delivery.needing_delivery() == []
    await repo.worker.set_progress(job.id, 50)
    assert [j.progress for j in await repo.delivery.needing_delivery()] == [50]


async def test_concurrent_writers_do_not_lock_each_other_out(sessions):
    repo = job_tables(sessions)
    results = await asyncio.gather(
        *(repo.member.create(_new(user=i, interaction=i)) for i in range(50))
    )
    assert len({job.id for job, _ in results}) == 50
    assert await repo.member.active_counts(7) == {"queued": 1}


async def test_history_is_per_user_newest_first(sessions):
    repo = job_tables(sessions)
    for i in range(3):
        await repo.member.create(_new(user=1, interaction=i))
    await repo.member.create(_new(user=2, interaction=9))
    assert [j.interaction_id for j in await repo.member.for_user(1)] == [2, 1, 0]


async def test_another_members_view_lists_only_finished_public_jobs_of_that_server(sessions):
    repo = job_tables(sessions)
    public, _ = await repo.member.create(_new(user=1, interaction=1))
    hidden, _ = await repo.member.create(_new(user=1, interaction=2, stealth=True))
    elsewhere, _ = await repo.member.create(_new(user=1, interaction=4, guild_id=21))
    waiting, _ = await repo.member.create(_new(user=1, interaction=3))
    for job in (public, hidden, elsewhere):
        await repo.worker.claim_next("w")
        await repo.worker.finish(job.id, [StoredImage(1, f"{job.id:064x}", 64, 64, 1)], [1], 0.1)
    assert [j.id for j in await repo.member.for_user(1)] == [
        waiting.id,
        elsewhere.id,
        hidden.id,
        public.id,
    ]
    assert [j.id for j in await repo.member.for_user(1, public_in=20)] == [public.id]
    assert [j.id for j in await repo.member.for_user(1, public_in=21)] == [elsewhere.id]
    assert await repo.member.count_for_user(1, public_in=20) == 1
    assert await repo.member.count_for_user(1) == 4


async def test_a_user_past_the_fast_allowance_yields_and_runs_as_relax(sessions):
    repo = job_tables(sessions, fast_allowance_s=10.0)
    spent, _ = await repo.member.create(_new(user=1, interaction=1))
    await repo.worker.claim_next("w")
    await repo.worker.finish(spent.id, [StoredImage(1, "a" * 64, 64, 64, 1)], [1], gpu_seconds=12.0)
    assert await repo.member.fast_used(1) == 12.0
    heavy, _ = await repo.member.create(_new(user=1, interaction=2))  # older, but out of fast time
    light, _ = await repo.member.create(_new(user=2, interaction=3, lane="relax"))
    fresh, _ = await repo.member.create(_new(user=3, interaction=4, lane="fast"))
    order = [await repo.worker.claim_next("w") for _ in range(3)]
    # fast first; among relax jobs the user with less recent GPU time
    assert [j.id for j in order] == [fresh.id, light.id, heavy.id]
    assert [j.lane for j in order] == ["fast", "relax", "relax"]
    await repo.worker.finish(heavy.id, [StoredImage(1, "b" * 64, 64, 64, 1)], [1], gpu_seconds=5.0)
    assert await repo.member.fast_used(1) == 12.0  # relax time is not fast time


async def test_only_jobs_whose_lease_lapsed_are_taken_back(sessions):

    from db.models import utcnow

    repo = job_tables(sessions)
    alive, _ = await repo.member.create(_new(user=1, interaction=1))
    dead, _ = await repo.member.create(_new(user=2, interaction=2))
    await repo.worker.claim_next("alive-worker")
    await repo.worker.claim_next("dead-worker")
    await asyncio.sleep(0.05)
    cutoff = utcnow()  # both leases are older than this...
    await asyncio.sleep(0.05)
    assert await repo.worker.renew_lease(alive.id, "alive-worker")  # ...until one is renewed
    assert not await repo.worker.renew_lease(alive.id, "dead-worker")  # not its job
    assert await repo.worker.recover_running(3, lapsed_before=cutoff - timedelta(seconds=30)) == 0
    assert await repo.worker.recover_running(3, lapsed_before=cutoff) == 1
    assert (await repo.member.get(alive.id)).state == JobState.RUNNING
    again = await repo.worker.claim_next("other-worker")
    assert again is not None and again.id == dead.id and again.attempts == 2
    # The dead worker's late result is ignored: the job is another worker's now.
    await repo.worker.finish(
        again.id, [StoredImage(1, "c" * 64, 64, 64, 1)], [1], 1.0, "dead-worker"
    )
    late = await repo.member.get(again.id)
    assert late.state == JobState.RUNNING and late.images == []  # its images are not kept
    await repo.worker.fail(again.id, "late failure", "dead-worker")
    assert (await repo.member.get(again.id)).state == JobState.RUNNING


async def test_counting_can_stop_early(sessions):
    repo = job_tables(sessions)
    for i in range(5):
        await repo.member.create(_new(user=4, interaction=400 + i))
    assert await repo.member.count_for_user(4) == 5
    assert await repo.member.count_for_user(4, up_to=3) == 3
    assert await repo.member.count_for_user(4, up_to=10) == 5


async def test_one_users_many_jobs_do_not_starve_another_users_single_job(sessions):
    repo = job_tables(sessions)
    for i in range(40):
        await repo.member.create(_new(user=1, interaction=1000 + i))
    first = await repo.worker.claim_next("w")
    assert first.user_id == 1
    single, _ = await repo.member.create(_new(user=2, interaction=1))
    second = await repo.worker.claim_next("w")
    assert second.id == single.id  # user 1 already has a job running


async def test_recent_gpu_time_orders_users(sessions):
    repo = job_tables(sessions)
    heavy, _ = await repo.member.create(_new(user=1, interaction=1))
    await repo.worker.claim_next("w")
    await repo.worker.finish(heavy.id, [], [1], gpu_seconds=120.0)
    await repo.member.create(_new(user=1, interaction=2))
    light, _ = await repo.member.create(_new(user=2, interaction=3))
    assert (await repo.worker.claim_next("w")).id == light.id


async def test_concurrent_claims_never_hand_out_a_job_twice(sessions):
    repo = job_tables(sessions, max_running_per_user=12)
    for i in range(12):
        await repo.member.create(_new(user=i % 3, interaction=i))
    claimed = await asyncio.gather(*(repo.worker.claim_next(f"w{i}") for i in range(16)))
    ids = [job.id for job in claimed if job is not None]
    assert len(ids) == 12 == len(set(ids))


async def test_workers_claiming_at_once_keep_a_member_in_many_guilds_within_the_limit(sessions):
    # Each claim reads its owner's running jobs without locking them, and each guild's
    # oldest job is a candidate of its own: four workers claiming at the same moment could
    # each start one of this member's jobs in a different guild (on PostgreSQL they did, in
    # 39 rounds of 40). The claims over the limit give their job back, unstarted.
    repo = job_tables(sessions, max_running_per_user=1)
    for n, guild in enumerate([20, 21, 22, 23] * 6):
        await repo.member.create(_new(interaction=n, guild_id=guild))
    for round_ in range(6):
        claimed = await asyncio.gather(*(repo.worker.claim_next(f"w{i}") for i in range(4)))
        started = [job for job in claimed if job is not None]
        assert len(started) == 1, f"round {round_}: {len(started)} jobs started"
        assert await repo.member.active_counts(1) == {"running": 1, "queued": 23 - round_}
        await repo.worker.finish(started[0].id, [], [1], gpu_seconds=0.0)
    async with sessions() as session:
        waiting = (await session.scalars(select(Job).where(Job.state == JobState.QUEUED))).all()
        tickets = await session.scalar(
            text("SELECT count(*) FROM procrastinate_jobs WHERE status = 'todo'")
        ) if repo.worker.dispatched else 0  # fmt: skip
    assert len(waiting) == 18
    assert {(job.attempts, job.worker_id, job.started_at, job.progress) for job in waiting} == {
        (0, None, None, -1)
    }
    # Each job given back (the claim set its lane) got a ticket of its own; whether any was
    # depends on timing (tests/db/test_tickets.py gives one back for certain).
    given_back = [job for job in waiting if job.lane is not None]
    assert tickets >= 24 + len(given_back) if repo.worker.dispatched else not given_back


async def test_a_user_at_the_running_cap_waits_while_others_run(sessions):
    repo = job_tables(sessions, max_running_per_user=2)
    for i in range(4):
        await repo.member.create(_new(user=1, interaction=i))
    first = [await repo.worker.claim_next("w") for _ in range(3)]
    assert [j.user_id if j else None for j in first] == [1, 1, None]
    other, _ = await repo.member.create(_new(user=2, interaction=9))
    assert (await repo.worker.claim_next("w")).id == other.id
    assert await repo.member.active_counts(1) == {"running": 2, "queued": 2}


async def test_a_batch_is_created_once_even_when_the_interaction_is_retried(sessions):
    repo = job_tables(sessions)
    batch = [replace(_new(), idempotency_key=f"100:{n}") for n in range(3)]
    first = await repo.member.create_many(batch)
    again = await repo.member.create_many(batch)
    assert [created for _, created in first] == [True] * 3
    assert [created for _, created in again] == [False] * 3
    assert [job.id for job, _ in again] == [job.id for job, _ in first]


async def test_held_jobs_wait_for_confirmation_then_queue_or_cancel(sessions):
    repo = job_tables(sessions)
    held = [replace(_new(interaction=7), idempotency_key=f"7:{n}") for n in range(6)]
    await repo.member.create_many(held, JobState.HELD)
    assert await repo.worker.claim_next("w") is None
    assert await repo.member.release_held(7, user_id=2, queue=True) == []  # not the owner's
    queued = await repo.member.release_held(7, user_id=1, queue=True)
    assert [j.state for j in queued] == [JobState.QUEUED] * 6
    assert await repo.member.release_held(7, user_id=1, queue=False) == []  # already released
    other = [replace(_new(interaction=8), idempotency_key=f"8:{n}") for n in range(6)]
    await repo.member.create_many(other, JobState.HELD)
    cancelled = await repo.member.release_held(8, user_id=1, queue=False)
    assert {j.state for j in cancelled} == {JobState.CANCELLED}
    assert all(
        j.id not in {c.id for c in cancelled} for j in await repo.delivery.needing_delivery()
    )


async def test_purging_deleted_jobs_keeps_files_other_jobs_still_use(sessions):

    from db.models import utcnow

    repo = job_tables(sessions)
    grid, _ = await repo.member.create(_new(interaction=1))
    await repo.worker.claim_next("w")
    await repo.worker.finish(
        grid.id, [StoredImage(0, "a" * 64, 8, 8, None), StoredImage(1, "b" * 64, 4, 4, 1)], [1], 0.1
    )
    upscale, _ = await repo.member.create(_new(interaction=2, action="upscale"))
    await repo.worker.claim_next("w")
    await repo.worker.finish(upscale.id, [StoredImage(1, "b" * 64, 4, 4, 1)], [1], 0.1)
    assert await repo.member.delete(grid.id)
    assert await repo.member.purge_deleted(utcnow() - timedelta(hours=1)) == []  # still in grace
    assert await repo.member.purge_deleted(utcnow() + timedelta(seconds=1)) == [("a" * 64, "png")]
    assert (await repo.member.get(grid.id)).images == []
    assert len((await repo.member.get(upscale.id)).images) == 1
    assert await repo.member.erase_all(1) == 1  # the upscale; the grid was already deleted
    assert await repo.member.for_user(1) == []


async def test_purging_a_deleted_job_drops_its_image_prompts_unless_another_job_uses_them(
    sessions,
):

    from db.models import utcnow

    repo = job_tables(sessions)
    x, y = "c" * 64, "d" * 64
    first, _ = await repo.member.create(_new(interaction=1, prompt_images=[x, y]))
    reroll, _ = await repo.member.create(_new(interaction=2, prompt_images=[y]))
    for job in (first, reroll):
        await repo.member.cancel(job.id)  # ended, so they can be deleted
    assert await repo.member.delete(first.id)
    assert await repo.member.purge_deleted(utcnow() - timedelta(hours=1)) == []  # still in grace
    assert await repo.member.purge_deleted(utcnow() + timedelta(seconds=1)) == [(x, "png")]
    assert (await repo.member.get(first.id)).prompt_images == []
    assert (await repo.member.get(reroll.id)).prompt_images == [y]
    assert await repo.member.delete(reroll.id)
    assert await repo.member.purge_deleted(utcnow() + timedelta(seconds=1)) == [(y, "png")]


async def test_running_previews_are_those_of_running_jobs(sessions):
    repo = job_tables(sessions)
    running, _ = await repo.member.create(_new(interaction=1))
    ended, _ = await repo.member.create(_new(user=2, interaction=2))
    await repo.member.create(_new(user=3, interaction=3))  # queued: no preview yet
    claimed = [await repo.worker.claim_next("w") for _ in range(2)]
    assert [job.id for job in claimed] == [running.id, ended.id]
    await repo.worker.set_progress(running.id, 40, "e" * 64)
    await repo.worker.set_progress(ended.id, 40, "f" * 64)
    await repo.worker.finish(ended.id, [], [1], 1.0)
    assert await repo.delivery.running_previews() == {"e" * 64}


async def test_a_paused_guilds_jobs_wait_while_others_and_direct_messages_run(sessions):
    jobs, moderation = job_tables(sessions), GuildRepository(sessions)
    await moderation.set_queue_paused(20, True)
    paused, _ = await jobs.member.create(_new(user=1, interaction=1))  # guild 20
    elsewhere, _ = await jobs.member.create(_new(user=2, interaction=2, guild_id=21))
    direct, _ = await jobs.member.create(_new(user=3, interaction=3, guild_id=None))
    for job in (paused, elsewhere, direct):
        await jobs.delivery.attach_message(job.id, 900 + job.id, "token", utcnow())
    assert dict((j.id, place) for j, place in await jobs.delivery.queue()) == {
        paused.id: PAUSED,
        elsewhere.id: 1,
        direct.id: 2,
    }
    started = [await jobs.worker.claim_next("w") for _ in range(3)]
    assert [j.id if j else None for j in started] == [elsewhere.id, direct.id, None]
    assert await jobs.member.active_counts(guild_id=20) == {"queued": 1}

    await moderation.set_queue_paused(20, False)
    assert (await jobs.worker.claim_next("w")).id == paused.id
    assert await jobs.member.active_counts(guild_id=20) == {"running": 1}


async def test_a_guilds_own_running_limit_holds_its_members_back(sessions):
    jobs, moderation = (
        job_tables(sessions, max_running_per_user=3),
        GuildRepository(sessions),
    )
    await moderation.set_job_limits(20, max_running_jobs=1)
    here = [(await jobs.member.create(_new(user=1, interaction=i)))[0] for i in (1, 2)]  # guild 20
    there, _ = await jobs.member.create(_new(user=1, interaction=3, guild_id=21))
    started = [await jobs.worker.claim_next("w") for _ in range(3)]
    assert [j.id if j else None for j in started] == [here[0].id, there.id, None]
    assert (await moderation.rules(20)).max_running_jobs == 1
    await moderation.set_job_limits(20, max_running_jobs=None)  # back to the default of 3
    assert (await jobs.worker.claim_next("w")).id == here[1].id


async def test_a_guild_cannot_raise_the_deployments_running_limit(sessions):
    jobs, moderation = (
        job_tables(sessions, max_running_per_user=1),
        GuildRepository(sessions),
    )
    await moderation.set_job_limits(20, max_running_jobs=5)
    for i in (1, 2):
        await jobs.member.create(_new(user=1, interaction=i))
    assert await jobs.worker.claim_next("w") is not None
    assert await jobs.worker.claim_next("w") is None  # the deployment's 1, not the guild's 5


async def test_a_job_erased_before_its_message_is_recorded_keeps_no_token(sessions):
    from db.models import utcnow

    repo = job_tables(sessions)
    job, _ = await repo.member.create(_new(interaction=7))
    assert await repo.member.erase_all(1) == 1  # /privacy delete wins the race
    await repo.delivery.attach_message(
        job.id, 555, "itoken.secret", utcnow() + timedelta(minutes=15)
    )
    erased = await repo.member.get(job.id)
    assert erased.interaction_token is None and erased.message_id == 555
    kept, _ = await repo.member.create(_new(interaction=8))
    await repo.delivery.attach_message(
        kept.id, 556, "itoken.other", utcnow() + timedelta(minutes=15)
    )
    assert (await repo.member.get(kept.id)).interaction_token == "itoken.other"


async def test_a_worker_of_some_presets_claims_only_their_jobs_in_fair_order(sessions):
    from db import WorkerJobs

    repo = job_tables(sessions)
    xl, _ = await repo.member.create(_new(user=1, interaction=1, model="tiny-xl"))
    mine, _ = await repo.member.create(_new(user=2, interaction=2, model="tiny"))
    also, _ = await repo.member.create(_new(user=3, interaction=3, model="tiny"))
    tiny_only = WorkerJobs(sessions, 3, models=["tiny"])
    claimed = [await tiny_only.claim_next("w-tiny") for _ in range(3)]
    assert [j.id if j else None for j in claimed] == [mine.id, also.id, None]
    assert (await repo.member.get(xl.id)).state == JobState.QUEUED  # left for its worker
    xl_only = WorkerJobs(sessions, 3, models=["tiny-xl", "flux"])
    assert (await xl_only.claim_next("w-xl")).id == xl.id
