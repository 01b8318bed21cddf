"""Distributed mode: the bot without a worker, and two `imaginebot worker` processes on one
PostgreSQL database. A worker killed mid-job: the other takes the job over when its lease
lapses, and the result is posted exactly once."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import sys
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from db import JobState
from inference.tiny import build_tiny_pipeline
from tests.conftest import _postgres_database, database_outage, eventually

IMAGINEBOT = str(Path(sys.executable).parent / "imaginebot")
pytestmark = [pytest.mark.slow, pytest.mark.postgres]


@pytest.fixture
async def postgres_url(postgres_schema):
    async for url in _postgres_database(template=postgres_schema):
        yield url


async def _bot_and_workers(
    runner, tmp_path, models_dir, postgres_url, steps, count, lease=3.0, max_running=3
):
    """The bot without a worker, and `count` `imaginebot worker` processes, on one
    PostgreSQL database and image store, rendering a tiny model with `steps` steps. Workers
    take back a dead worker's job after `lease` seconds (and top the dispatch tickets up
    then), and start at most `max_running` jobs of one member at a time."""
    tiny = build_tiny_pipeline(models_dir / "tiny")
    presets = tmp_path / "presets.toml"
    presets.write_text(
        f'[presets.tiny-slow]\nmodel = "{tiny}"\nnative_size = 64\nsteps = {steps}\n'
    )
    shared = {
        "model": "tiny-slow",
        "presets_file": presets,
        "database_url": postgres_url,
        "lease_seconds": lease,
    }
    runner.settings = runner.settings.model_copy(update=shared)
    bot = await runner.start(run_worker=False)  # the bot also brings the schema up to date
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IMAGINEBOT_", "DISCORD_"))}
    env.update(
        IMAGINEBOT_MODEL="tiny-slow",
        IMAGINEBOT_PRESETS_FILE=str(presets),
        IMAGINEBOT_DATABASE_URL=postgres_url,
        IMAGINEBOT_LEASE_SECONDS=str(lease),
        IMAGINEBOT_MAX_RUNNING_JOBS=str(max_running),
        IMAGINEBOT_DATA_DIR=str(runner.settings.data_dir),  # one image store for all
        IMAGINEBOT_MODELS_DIR=str(models_dir),
    )
    quiet = {"stdout": asyncio.subprocess.DEVNULL, "stderr": asyncio.subprocess.DEVNULL}
    workers = [
        await asyncio.create_subprocess_exec(IMAGINEBOT, "worker", env=env, cwd=tmp_path, **quiet)
        for _ in range(count)
    ]
    await _registered_with_procrastinate(bot, count)
    return bot, workers


async def _registered_with_procrastinate(bot, count):
    """Each worker takes its jobs through procrastinate: wait until all are registered there."""

    async def registered():
        async with bot.services.sessions() as session:
            return await session.scalar(text("SELECT count(*) FROM procrastinate_workers")) == count

    await eventually(registered, f"{count} worker(s) registered with procrastinate", 120, 0.1)


async def _until_running(bot, job_id: int) -> None:
    """Wait until a worker has started job `job_id` (whatever its message shows yet)."""

    async def running():
        return (await bot.services.jobs.get(job_id)).state == JobState.RUNNING

    await eventually(running, f"job {job_id} started")


def _shows_result(message) -> bool:
    """The grid is posted with its buttons (a progress edit may carry a preview image)."""
    return bool(message.attachments) and "U1" in message.buttons()


async def _stop(workers):
    for worker in workers:
        if worker.returncode is None:
            worker.terminate()
            await worker.wait()


@pytest.mark.parametrize(
    ("stop", "lease"),
    [
        (signal.SIGKILL, 3.0),  # killed: its job comes back when the lease lapses
        (signal.SIGTERM, 600.0),  # stopped: it gives the job back at once (no lease in time)
    ],
)
async def test_a_killed_or_stopped_worker_s_job_is_finished_by_another_and_posted_once(
    world, runner, tmp_path, tiny_models_dir, postgres_url, stop, lease
):
    fake, alice = world.fake, world.alice
    # Slow enough that the job is still rendering when its worker is killed.
    bot, workers = await _bot_and_workers(
        runner, tmp_path, tiny_models_dir, postgres_url, 600, 2, lease=lease
    )
    try:
        inter = await fake.slash(alice, world.channel, "imagine", prompt="a relay fox --seed 8")
        assert await inter.wait_for_response() == 4
        [job] = await bot.services.jobs.for_user(alice.id)

        async def running_on():
            current = await bot.services.jobs.get(job.id)
            return current.worker_id if current.state == JobState.RUNNING else None

        worker_id = None
        for _ in range(1200):
            if worker_id := await running_on():
                break
            await asyncio.sleep(0.1)
        assert worker_id, "no worker started the job"
        victim = next(w for w in workers if worker_id.endswith(f"-{w.pid}"))
        victim.send_signal(stop)
        assert await asyncio.wait_for(victim.wait(), 60) == (0 if stop == signal.SIGTERM else -9)

        await fake.wait_for(lambda: _shows_result(inter.original), timeout=240)
        done = await bot.services.jobs.get(job.id)
        assert done.state == JobState.DONE and done.attempts == 2
        assert done.worker_id != worker_id
        posted = [m for m in fake.messages(world.channel) if _shows_result(m)]
        assert posted == [inter.original]  # posted exactly once, on the job's own message
    finally:
        await _stop(workers)


async def test_queued_jobs_survive_a_bot_restart_and_a_database_outage(
    world, runner, tmp_path, tiny_models_dir, postgres_url
):
    fake, alice = world.fake, world.alice
    # Renders of a few seconds, so that the bot stops while the first one runs.
    bot, workers = await _bot_and_workers(runner, tmp_path, tiny_models_dir, postgres_url, 600, 1)
    try:
        inter = await fake.slash(
            alice, world.channel, "imagine", prompt="{an owl, a hare} --seed 4"
        )
        await inter.wait_for_response()
        jobs = await bot.services.jobs.for_user(alice.id)
        assert len(jobs) == 2
        await _until_running(bot, jobs[0].id)
        await runner.stop(bot)  # one job rendering, the other queued
        await database_outage(postgres_url, seconds=4.0)  # claims and ticket fetches fail

        bot = await runner.start(run_worker=False)
        jobs = [await bot.services.jobs.get(job.id) for job in jobs]
        messages = [fake.all_messages[job.message_id] for job in jobs]
        await fake.wait_for(
            lambda: workers[0].returncode is not None or all(_shows_result(m) for m in messages),
            timeout=240,
        )
        assert workers[0].returncode is None  # the worker lived through the outage
        assert {(await bot.services.jobs.get(job.id)).state for job in jobs} == {JobState.DONE}
        posted = [m for m in fake.messages(world.channel) if _shows_result(m)]
        assert sorted(m.id for m in posted) == sorted(m.id for m in messages)  # once each
    finally:
        await _stop(workers)


async def test_two_workers_start_a_single_job_before_more_of_a_40_job_batch_and_cancel(
    world, runner, tmp_path, tiny_models_dir, postgres_url
):
    fake, alice, bob = world.fake, world.alice, world.bob
    # One running job per member: while alice's fox renders, the other worker has nothing
    # of hers to start. A long lease keeps the tickets' safety net out of the test: every
    # start comes from a ticket written when a job was queued or ended.
    bot, workers = await _bot_and_workers(
        runner, tmp_path, tiny_models_dir, postgres_url, 60, 2, lease=600.0, max_running=1
    )
    try:
        foxes = ", ".join(f"fox {n}" for n in range(40))
        batch = await fake.slash(alice, world.channel, "imagine", prompt=f"{{{foxes}}} --seed 1")
        await batch.wait_for_response()
        assert "40 jobs" in batch.original.content
        yes = await fake.click(alice, batch.original, batch.original.button("Yes"))
        await yes.wait_for_response()
        owl = await fake.slash(bob, world.channel, "imagine", prompt="a single owl --seed 2")
        await owl.wait_for_response()
        await fake.wait_for(lambda: _shows_result(owl.original), timeout=120)

        [single] = await bot.services.jobs.for_user(bob.id)
        foxes_jobs = await bot.services.jobs.for_user(alice.id, limit=40)
        assert len(foxes_jobs) == 40
        jumped = [
            j
            for j in foxes_jobs
            if j.started_at and single.created_at < j.started_at < single.started_at
        ]
        # Older foxes may start first while nobody runs anything, but the owl waits behind one
        # fox at most: after that, its owner has a job running and bob does not.
        assert len(jumped) <= 1
        assert single.attempts == 1  # claimed once, by one worker
        assert all(j.attempts == 1 for j in foxes_jobs if j.started_at)

        async def a_fox_in(state):
            for job in await bot.services.jobs.for_user(alice.id, limit=40):
                if job.state == state and job.message_id is not None:
                    return job
            return None

        async def cancel_a_fox(state):
            """Press Cancel on a fox in `state`; the cancelled job. A running fox may finish
            before the click lands (then the cancel is refused): another one is tried."""
            for _ in range(600):
                job = await a_fox_in(state)
                if job is None:
                    await asyncio.sleep(0.05)
                    continue
                message = fake.all_messages[job.message_id]
                click = await fake.click(alice, message, message.button("Cancel"))
                await click.wait_for_response()
                if (await bot.services.jobs.get(job.id)).state == JobState.CANCELLED:
                    return job, message
            raise AssertionError(f"no fox {state} could be cancelled")

        for state in (JobState.RUNNING, JobState.QUEUED):
            job, message = await cancel_a_fox(state)
            await fake.wait_for(lambda m=message: m.content.endswith("(Cancelled)"), timeout=60)

        async def foxes_started():
            return [j for j in await bot.services.jobs.for_user(alice.id, limit=40) if j.started_at]

        for _ in range(1200):  # a fox or two more after the cancels, each from a ticket
            if len(started := await foxes_started()) >= 4:
                break
            await asyncio.sleep(0.1)
        assert len(started) >= 4
        still_running = datetime.max.replace(tzinfo=started[0].started_at.tzinfo)
        spans = sorted((j.started_at, j.finished_at or still_running) for j in started)
        # Never two of hers running at once, though two workers were free to take them.
        assert all(end <= start for (_, end), (start, _) in itertools.pairwise(spans))
        assert all(worker.returncode is None for worker in workers)
    finally:
        await _stop(workers)


async def test_a_bot_that_also_renders_takes_tickets_like_any_worker(world, runner, postgres_url):
    runner.settings = runner.settings.model_copy(
        update={"database_url": postgres_url, "embedded_worker": True}
    )
    bot = await runner.start(run_worker=None)  # as `imaginebot run` with the setting on
    assert bot.worker is not None and bot.worker._tickets is not None
    inter = await world.fake.slash(world.alice, world.channel, "imagine", prompt="a fox --seed 4")
    await inter.wait_for_response()
    await world.fake.wait_for(lambda: _shows_result(inter.original), timeout=120)
    [job] = await bot.services.jobs.for_user(world.alice.id)
    assert job.worker_id == bot.worker.worker_id
    await _registered_with_procrastinate(bot, 1)


async def test_each_job_renders_on_a_worker_that_serves_its_model(
    world, runner, tmp_path, tiny_models_dir, postgres_url
):
    """Two workers serving one tiny preset each (imaginebot worker --models): every job is
    claimed by the worker of its model, and a job of a preset no worker serves says so."""
    fake, alice = world.fake, world.alice
    tiny = build_tiny_pipeline(tiny_models_dir / "tiny")
    presets = tmp_path / "presets.toml"
    presets.write_text(
        "".join(
            f'[presets.{name}]\nmodel = "{tiny}"\nnative_size = 64\nsteps = 2\n'
            for name in ("tiny-a", "tiny-b", "tiny-c")
        )
    )
    runner.settings = runner.settings.model_copy(
        update={
            "model": "tiny-a",
            "models": ["tiny-b", "tiny-c"],
            "presets_file": presets,
            "database_url": postgres_url,
            "lease_seconds": 3.0,
        }
    )
    bot = await runner.start(run_worker=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IMAGINEBOT_", "DISCORD_"))}
    env.update(
        IMAGINEBOT_MODEL="tiny-a",
        IMAGINEBOT_MODELS="tiny-b,tiny-c",
        IMAGINEBOT_PRESETS_FILE=str(presets),
        IMAGINEBOT_DATABASE_URL=postgres_url,
        IMAGINEBOT_LEASE_SECONDS="3",
        IMAGINEBOT_DATA_DIR=str(runner.settings.data_dir),
        IMAGINEBOT_MODELS_DIR=str(tiny_models_dir),
    )
    quiet = {"stdout": asyncio.subprocess.DEVNULL, "stderr": asyncio.subprocess.DEVNULL}
    workers = {
        model: await asyncio.create_subprocess_exec(
            IMAGINEBOT, "worker", "--models", model, env=env, cwd=tmp_path, **quiet
        )
        for model in ("tiny-a", "tiny-b")
    }
    try:
        await _registered_with_procrastinate(bot, 2)
        asked = []
        for n, model in enumerate(["tiny-b", "tiny-a", "tiny-b", "tiny-a"]):
            inter = await fake.slash(
                alice, world.channel, "imagine", prompt=f"a fox {n} --model {model} --seed {n}"
            )
            await inter.wait_for_response()
            asked.append(inter)
        unserved = await fake.slash(
            world.bob, world.channel, "imagine", prompt="an owl --model tiny-c --seed 9"
        )
        await unserved.wait_for_response()
        for inter in asked:
            await fake.wait_for(lambda inter=inter: _shows_result(inter.original), timeout=120)
        for job in await bot.services.jobs.for_user(alice.id):
            assert job.state == JobState.DONE
            assert job.worker_id.endswith(f"-{workers[job.model].pid}"), (job.model, job.worker_id)
        await fake.wait_for(
            lambda: "no worker serves tiny-c now" in unserved.original.content, timeout=60
        )
        [waiting] = await bot.services.jobs.for_user(world.bob.id)
        assert waiting.state == JobState.QUEUED
    finally:
        await _stop(list(workers.values()))
