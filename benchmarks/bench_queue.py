"""Queue benchmark: dispatch throughput with a stub renderer, and /imagine acknowledgement
latency with the event-loop lag while a worker renders.

Run: python benchmarks/bench_queue.py [--jobs 2000] [--users 200]

1. Dispatch, on SQLite (embedded) and PostgreSQL: `--users` members submit `--jobs` jobs
   (JobTables.create, as /imagine does; 8 at a time) while 4 stub workers claim them in
   fair-share order and finish them at once: jobs per second end to end. Goal >= 200. On
   SQLite the workers loop as the embedded worker does (woken when a job is queued, else
   every 0.5 s, in this process); on PostgreSQL they are processes of their own
   (benchmarks/stubworker.py) taking procrastinate tickets as `imaginebot worker` does.
   Also reported: the CPU the whole machine spent per job (benchmark, workers, database):
   on 2 cores the rate is bound by it.
2. Acknowledgement: the real bot in a process of its own (testing/botprocess.py, with its
   embedded worker rendering the tiny model) against the local fake Discord in this process;
   `--users` members press /imagine at the same moment. Reported: time from the interaction
   to Discord receiving the bot's first answer, a reply or a deferral (p50/p99, goal p99 <
   250 ms), and the bot's own event-loop lag monitor (goal p99 < 50 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncpg
from sqlalchemy import text

from db import NewJob, make_engine, make_sessionmaker, upgrade_schema
from testing.benchbot import bench_guild
from testing.botprocess import bot_process
from testing.fakediscord import Channel, FakeDiscord, User
from testing.jobs import JobTables, job_tables
from testing.stubworker import stub_start_next

ROOT = Path(__file__).resolve().parents[1]
WORKERS = 4
SUBMITTERS = 8  # members pressing /imagine at the same time


async def dispatch(url: str, label: str, jobs: int, users: int, workers: int) -> float:
    """Jobs through imaginebot's dispatch; the machine's CPU milliseconds per job."""
    engine = make_engine(url)
    await upgrade_schema(engine)
    repo = job_tables(make_sessionmaker(engine), max_running_per_user=3)
    tag = uuid.uuid4().hex[:8]
    numbers = iter(range(jobs))
    queued = asyncio.Event()  # as the bot wakes its embedded worker when it queues a job

    async def submit() -> None:
        for n in numbers:
            await repo.member.create(
                NewJob(
                    idempotency_key=f"{tag}:{n}", user_id=1 + n % users, channel_id=1,
                    guild_id=1, prompt=f"job {n}", request={}, model="stub", action="imagine",
                )
            )  # fmt: skip
            queued.set()

    async def poll(start_next: Callable[[], Awaitable[bool]]) -> None:
        """Embedded mode's loop (Worker._poll)."""
        while True:
            if not await start_next():
                queued.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(queued.wait(), 0.5)  # the worker's poll interval

    processes, tasks = [], []
    if repo.worker.dispatched:  # PostgreSQL: `imaginebot worker` processes taking tickets
        processes = [
            await asyncio.create_subprocess_exec(
                sys.executable, "-m", "testing.stubworker", url, f"stub-{w}", cwd=ROOT
            )
            for w in range(workers)
        ]
        await _until(repo, "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'LISTEN %'",
                     workers)  # fmt: skip
    else:  # SQLite: the embedded worker's loop, in this process
        tasks = [
            asyncio.create_task(poll(stub_start_next(repo.worker, f"stub-{w}")))
            for w in range(workers)
        ]
    cpu_started = _busy_cpu_s()
    started = time.perf_counter()
    await asyncio.gather(*(submit() for _ in range(SUBMITTERS)))
    await _until(repo, "SELECT count(*) FROM jobs WHERE state = 'done'", jobs)
    took = time.perf_counter() - started
    cpu_ms = (_busy_cpu_s() - cpu_started) / jobs * 1000
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for process in processes:
        process.terminate()
        await process.wait()
    print(
        f"  {label:<10} {jobs} jobs submitted, claimed and finished in {took:.1f} s: "
        f"{jobs / took:,.0f} jobs/s end to end (goal >= 200); "
        f"{cpu_ms:.1f} ms of the machine's CPU per job"
    )
    await engine.dispose()
    return cpu_ms


# A bare worker process (its app made in a module of its own, as procrastinate expects).
BARE_WORKER = "import asyncio, sys, testing.barequeue as q; asyncio.run(q.main(*sys.argv[1:]))"


async def bare_dispatch(dsn: str, jobs: int, workers: int) -> float:
    """The same number of empty procrastinate jobs, deferred by as many submitters and taken
    by as many worker processes (testing/barequeue.py): the machine's CPU ms per job."""
    from testing.barequeue import TASK, bare_app

    app = bare_app(dsn)
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", BARE_WORKER, dsn, f"bare-{w}", cwd=ROOT
        )
        for w in range(workers)
    ]
    conn = await asyncpg.connect(dsn)
    try:
        for _ in range(600):
            if await conn.fetchval("SELECT count(*) FROM procrastinate_workers") >= workers:
                break
            await asyncio.sleep(0.1)
        numbers = iter(range(jobs))
        async with app.open_async():
            task = app.tasks[TASK]

            async def submit() -> None:
                for n in numbers:
                    await task.defer_async(n=n)

            cpu_started = _busy_cpu_s()
            started = time.perf_counter()
            await asyncio.gather(*(submit() for _ in range(SUBMITTERS)))
            for _ in range(int(600 / LOOK_EVERY_S)):  # every job taken and deleted
                if not await conn.fetchval("SELECT count(*) FROM procrastinate_jobs"):
                    break
                await asyncio.sleep(LOOK_EVERY_S)
            took = time.perf_counter() - started
            cpu_ms = (_busy_cpu_s() - cpu_started) / jobs * 1000
    finally:
        for process in processes:
            process.terminate()
            await process.wait()
        await conn.close()
    print(
        f"  {'bare':<10} {jobs} empty procrastinate jobs deferred, taken and deleted in "
        f"{took:.1f} s: {jobs / took:,.0f} jobs/s; {cpu_ms:.1f} ms of the machine's CPU per job"
    )
    return cpu_ms


def _busy_cpu_s() -> float:
    """Seconds of CPU the whole machine has spent busy since it booted (Linux's /proc/stat:
    every state but idle and waiting for I/O)."""
    ticks = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle, iowait = ticks[3], ticks[4]
    return (sum(ticks) - idle - iowait) / os.sysconf("SC_CLK_TCK")


# How often the benchmark counts finished jobs: to within 0.1 s of a run of 10 s or more.
# A look costs 1.3 ms of CPU (Python and PostgreSQL, at 1,000 done); every 20 ms, as
# before, the benchmark took 3% of a core from what it measures.
LOOK_EVERY_S = 0.1


async def _until(repo: JobTables, count: str, expected: int, timeout: float = 600) -> None:
    """Wait until the query `count` reaches `expected` (looked at every LOOK_EVERY_S)."""
    for _ in range(int(timeout / LOOK_EVERY_S)):
        async with repo.sessions() as session:
            if await session.scalar(text(count)) >= expected:
                return
        await asyncio.sleep(LOOK_EVERY_S)
    raise TimeoutError(f"{count!r} did not reach {expected} in {timeout:.0f} s")


async def acknowledgement(users: int) -> None:
    async with bench_guild(users) as world:
        fake, channel, members = world.fake, world.channel, world.members
        settings = {"model": "tiny", "guild_ids": str(world.guild.id), "log_level": "WARNING"}
        with tempfile.TemporaryDirectory() as data:
            settings["data_dir"] = data
            async with bot_process(fake.api_base, fake.gateway_url, fake.token, settings) as bot:
                await fake.wait_for(lambda: fake.commands(world.guild), timeout=120)
                await fake.wait_until_ready(timeout=120)
                warm = await fake.slash(members[0], channel, "imagine", prompt="warm up --seed 1")
                await fake.wait_for(
                    lambda: warm.original is not None and warm.original.attachments, 300
                )
                bot.measure_lag_from_now()  # start-up and the first render are not counted
                await asyncio.sleep(0.5)  # a few quiet samples first
                results = await asyncio.gather(
                    *(_press(fake, channel, m, n) for n, m in enumerate(members))
                )
                await asyncio.sleep(2.0)  # the bot goes on with the jobs: lag while it does
    latencies = sorted(r for r in results if r is not None)
    missed = len(results) - len(latencies)
    p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]
    print(
        f"  {users} members at once: acknowledged in p50 {statistics.median(latencies):.0f} ms, "
        f"p99 {p99:.0f} ms, max {latencies[-1]:.0f} ms (goal p99 < 250 ms); "
        f"{missed} not acknowledged within Discord's 3 s"
    )
    lag = bot.lag
    print(
        f"  bot event-loop lag: p50 {lag['p50_ms']:.1f} ms, p99 {lag['p99_ms']:.1f} ms, "
        f"max {lag['max_ms']:.1f} ms over {lag['samples']} samples (goal p99 < 50 ms)"
    )


async def _press(fake: FakeDiscord, channel: Channel, member: User, n: int) -> float | None:
    """Milliseconds from the interaction to the bot's first answer (a reply or a deferral)."""
    started = time.perf_counter()
    inter = await fake.slash(member, channel, "imagine", prompt=f"fox {n} --seed {n}")
    try:
        await inter.wait_for_response(timeout=30)
    except TimeoutError:
        return None  # Discord gave up on it after 3 s: never acknowledged
    return (time.perf_counter() - started) * 1000


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--ack-only", action="store_true", help="skip the dispatch part")
    parser.add_argument("--dispatch-only", action="store_true", help="skip the /imagine part")
    parser.add_argument("--workers", type=int, default=WORKERS)
    parser.add_argument("--backend", choices=["both", "sqlite", "postgresql"], default="both")
    parser.add_argument("--admin-dsn", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    ratio = None
    if not args.ack_only:
        ratio = await dispatch_both(args)
    if not args.dispatch_only:
        print("acknowledgement of /imagine while the worker renders:")
        await acknowledgement(args.users)
    if ratio is not None:  # the last line, as the issue asks (goal <= 1.5x)
        print(f"dispatch vs bare procrastinate: {ratio:.2f}x")


async def dispatch_both(args: argparse.Namespace) -> float | None:
    """Dispatch on each backend; on PostgreSQL also bare procrastinate in the same database,
    and the ratio of the two's CPU per job."""
    print(f"dispatch with a stub renderer ({args.workers} workers):")
    if args.backend != "postgresql":
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite+aiosqlite:///{tmp}/queue.db"
            await dispatch(url, "SQLite", args.jobs, args.users, args.workers)
    if args.backend == "sqlite":
        return None
    admin = await asyncpg.connect(args.admin_dsn)
    name = f"imaginebot_queue_{uuid.uuid4().hex[:8]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    base = args.admin_dsn.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    try:
        ours = await dispatch(f"{base}/{name}", "PostgreSQL", args.jobs, args.users, args.workers)
        bare = await bare_dispatch(f"{args.admin_dsn.rsplit('/', 1)[0]}/{name}", args.jobs,
                                   args.workers)  # fmt: skip
        print(f"  per-job CPU: imaginebot {ours:.2f} ms, bare procrastinate {bare:.2f} ms")
        return ours / bare
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
