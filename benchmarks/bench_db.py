"""Database benchmark: /history page queries over a million jobs, and the job insert rate.

Run: python benchmarks/bench_db.py [--jobs 1000000] [--admin-dsn postgresql://...]

Loads `--jobs` rows into a fresh PostgreSQL database (COPY, then ANALYZE), spread over
10,000 ordinary users plus one heavy user with 5% of all jobs, then times what a /history
click runs (the page count and the page itself, through JobTables) for ordinary users,
the heavy user near the start and deep in their history, and another member's public view.
Insert rate is measured through JobTables.create (one transaction per job, as /imagine
does) and create_many (a confirmed 40-job batch), on PostgreSQL and on SQLite.
Goal: p99 of a history page < 20 ms on PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncpg

from db import JobState, NewJob, make_engine, make_sessionmaker, upgrade_schema
from services.history import COUNTED, PAGE_SIZE
from testing.jobs import JobTables, job_tables

USERS = 10_000
HEAVY_USER = 1
REQUEST = json.dumps({"prompts": [{"text": "a red fox in snow", "weight": 1.0}], "aspect": "1:1"})
COLUMNS = (
    "idempotency_key", "user_id", "guild_id", "channel_id", "action", "prompt", "request",
    "model", "seed", "seeds", "state", "progress", "attempts", "gpu_seconds", "shown_progress",
    "favourite", "stealth", "created_at",
)  # fmt: skip


def _rows(count: int, rng: random.Random):
    start = datetime.now(UTC) - timedelta(days=365)
    step = timedelta(days=365) / count
    for n in range(count):
        user = HEAVY_USER if rng.random() < 0.05 else rng.randrange(2, USERS + 2)
        yield (
            f"bench:{n}", user, 20, 10, "imagine", f"prompt number {n} --seed {n}", REQUEST,
            "sd-turbo", n, "[]", JobState.DONE, 100, 1, 1.5, 100,
            rng.random() < 0.1, rng.random() < 0.2, start + n * step,
        )  # fmt: skip


async def _load(dsn: str, count: int) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        rng = random.Random(7)
        rows = list(_rows(count, rng))
        started = time.perf_counter()
        await conn.copy_records_to_table("jobs", records=rows, columns=COLUMNS)
        took = time.perf_counter() - started
        print(f"loaded {count:,} jobs by COPY in {took:.1f} s ({count / took:,.0f} rows/s)")
        await conn.execute("VACUUM ANALYZE jobs")  # what autovacuum does to a settled table
    finally:
        await conn.close()


async def _timed(label: str, runs: int, call: Callable[[], Awaitable[object]]) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        await call()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    p99 = times[int(len(times) * 0.99) - 1]
    print(
        f"  {label:<44} p50 {statistics.median(times):6.2f} ms   p99 {p99:6.2f} ms   "
        f"max {times[-1]:6.2f} ms"
    )
    return p99


async def _history_queries(repo: JobTables, runs: int) -> float:
    rng = random.Random(11)

    async def page(user: int, number: int, public_in: int | None = None) -> None:
        # As bot/history.py does: the count stops at COUNTED + 1.
        await repo.member.count_for_user(user, public_in=public_in, up_to=COUNTED + 1)
        await repo.member.for_user(user, PAGE_SIZE, number * PAGE_SIZE, public_in=public_in)

    print("history page (count + 5 rows), through JobTables:")
    return max(
        await _timed("ordinary user, page 1", runs, lambda: page(rng.randrange(2, USERS + 2), 0)),
        await _timed("heavy user (5% of all jobs), page 1", runs, lambda: page(HEAVY_USER, 0)),
        await _timed("heavy user, page 100", runs, lambda: page(HEAVY_USER, 99)),
        await _timed(
            "another member's public jobs, page 1",
            runs,
            lambda: page(rng.randrange(2, USERS + 2), 0, public_in=20),
        ),
        await _timed("heavy user's public jobs, page 1", runs, lambda: page(HEAVY_USER, 0, 20)),
    )


def _new(n: int, tag: str) -> NewJob:
    return NewJob(
        idempotency_key=f"{tag}:{n}",
        user_id=USERS + 10 + n % 50,
        channel_id=10,
        guild_id=20,
        prompt=f"insert {n}",
        request=json.loads(REQUEST),
        model="sd-turbo",
        action="imagine",
        interaction_id=n,
        seed=n,
    )


async def _insert_rate(url: str, label: str, count: int) -> None:
    engine = make_engine(url)
    await upgrade_schema(engine)
    repo = job_tables(make_sessionmaker(engine))
    tag = uuid.uuid4().hex[:8]
    started = time.perf_counter()
    for n in range(count):
        await repo.member.create(_new(n, tag))
    single = count / (time.perf_counter() - started)
    started = time.perf_counter()
    for first in range(0, count, 40):
        await repo.member.create_many([_new(n, tag + "b") for n in range(first, first + 40)])
    batched = count / (time.perf_counter() - started)
    print(f"  {label:<10} create: {single:7,.0f} jobs/s   create_many(40): {batched:7,.0f} jobs/s")
    await engine.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--inserts", type=int, default=2_000)
    parser.add_argument("--admin-dsn", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()

    admin = await asyncpg.connect(args.admin_dsn)
    name = f"imaginebot_bench_{uuid.uuid4().hex[:8]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    base = args.admin_dsn.rsplit("/", 1)[0]
    url = f"{base.replace('postgresql://', 'postgresql+asyncpg://')}/{name}"
    try:
        engine = make_engine(url)
        await upgrade_schema(engine)
        await _load(f"{base}/{name}", args.jobs)
        p99 = await _history_queries(job_tables(make_sessionmaker(engine)), args.runs)
        print(f"worst p99 {p99:.2f} ms (goal < 20 ms): {'met' if p99 < 20 else 'NOT met'}")
        await engine.dispose()
        print(f"job insert rate ({args.inserts:,} jobs each way):")
        await _insert_rate(url, "PostgreSQL", args.inserts)
        with tempfile.TemporaryDirectory() as tmp:
            await _insert_rate(f"sqlite+aiosqlite:///{tmp}/bench.db", "SQLite", args.inserts)
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
