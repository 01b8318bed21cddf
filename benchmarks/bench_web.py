"""Web companion benchmark: a member's gallery page when they have 10,000 jobs, rendered by
the real aiohttp application (the query, the template, the security headers), on SQLite and
on PostgreSQL, against a bare aiohttp handler answering a page of the same size on the same
server loop.

Run: python benchmarks/bench_web.py [--jobs 10000] [--runs 200] [--admin-dsn postgresql://...]

Goal: the gallery page in < 100 ms server-side. Pages timed: the newest, one deep in the
history (keyset paging from a job id), and a text search over every prompt.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncpg
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from db import (
    AuditLog,
    BanRepository,
    GalleryJobs,
    ImageStore,
    MemberJobs,
    make_engine,
    make_sessionmaker,
    upgrade_schema,
)
from db.models import Job, JobImage, JobState
from services.gallery import Gallery
from services.links import Links
from web.app import create_app

MEMBER = 7
GUILD = 20


async def _load(sessions, count: int) -> None:
    start = datetime.now(UTC) - timedelta(days=365)
    jobs = [
        {
            "idempotency_key": f"bench:{n}", "user_id": MEMBER, "guild_id": GUILD,
            "channel_id": 10, "action": "imagine", "prompt": f"a fox number {n} in snow",
            "request": {"prompts": [{"text": "a fox", "weight": 1.0}], "aspect": "1:1"},
            "model": "sd-turbo", "seed": n, "seeds": [], "state": JobState.DONE, "progress": 100,
            "favourite": n % 10 == 0, "stealth": False, "created_at": start + timedelta(minutes=n),
        }
        for n in range(count)
    ]  # fmt: skip
    async with sessions() as session, session.begin():
        await session.execute(Job.__table__.insert(), jobs)
        ids = (await session.scalars(Job.__table__.select().with_only_columns(Job.id))).all()
        images = [
            {"job_id": job_id, "index": index, "sha256": "ab" * 32, "format": "png",
             "width": 1024 if index == 0 else 512, "height": 1024 if index == 0 else 512,
             "seed": None}
            for job_id in ids
            for index in range(5)
        ]  # fmt: skip
        await session.execute(JobImage.__table__.insert(), images)


async def _timed(client: TestClient, path: str, runs: int) -> tuple[float, float, int]:
    times, size = [], 0
    for _ in range(runs):
        started = time.perf_counter()
        async with client.get(path) as response:
            body = await response.read()
            assert response.status == 200, (response.status, body[:200])
        times.append((time.perf_counter() - started) * 1000)
        size = len(body)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.99) - 1], size


async def _bench(url: str, label: str, jobs: int, runs: int) -> None:
    engine = make_engine(url)
    await upgrade_schema(engine)
    sessions = make_sessionmaker(engine)
    await _load(sessions, jobs)
    links = Links("a benchmark secret, long enough", "http://bench")
    with tempfile.TemporaryDirectory() as tmp:
        gallery = Gallery(
            links, MemberJobs(sessions), GalleryJobs(sessions), BanRepository(sessions),
            AuditLog(sessions), ImageStore(Path(tmp)), {},
        )  # fmt: skip
        token = links.token(links.grant(MEMBER, GUILD))
        page_size = {"bytes": 0}

        async def bare(request: web.Request) -> web.Response:
            return web.Response(text="x" * page_size["bytes"], content_type="text/html")

        app = create_app(gallery, None, rate_per_minute=10**9)  # the limit is not what is timed
        app.router.add_get("/bare", bare)
        async with TestClient(TestServer(app)) as client:
            first = await _timed(client, f"/gallery?t={token}", runs)
            page_size["bytes"] = first[2]
            baseline = await _timed(client, "/bare", runs)
            deep = await _timed(client, f"/gallery?t={token}&before={jobs // 10}", runs)
            search = await _timed(client, f"/gallery?t={token}&q=number+4242", runs)
    await engine.dispose()
    print(f"{label}, {jobs:,} jobs of one member, {runs} requests each (median / p99 ms):")
    print(f"  bare handler, same size     {baseline[0]:7.2f} / {baseline[1]:7.2f}")
    for name, (median, p99, size) in (
        ("gallery, newest page", first),
        ("gallery, deep page", deep),
        ("gallery, text search", search),
    ):
        met = "met" if p99 < 100 else "NOT met"
        print(
            f"  {name:<27} {median:7.2f} / {p99:7.2f}  ({median / baseline[0]:.1f}x bare, "
            f"{size:,} bytes; goal < 100 ms {met})"
        )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--admin-dsn", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        await _bench(f"sqlite+aiosqlite:///{tmp}/bench.db", "SQLite", args.jobs, args.runs)
    admin = await asyncpg.connect(args.admin_dsn)
    name = f"imaginebot_bench_{uuid.uuid4().hex[:8]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    base = args.admin_dsn.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    try:
        await _bench(f"{base}/{name}", "PostgreSQL", args.jobs, args.runs)
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
