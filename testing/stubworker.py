"""A stub `imaginebot worker` for bench_queue: takes procrastinate tickets on a PostgreSQL
database and finishes each job it starts at once (no model), in a process of its own, as
real workers run.

Run: python -m testing.stubworker DATABASE_URL NAME
"""

from __future__ import annotations

import asyncio
import sys

from db import StoredImage, WorkerJobs, make_engine, make_sessionmaker
from db.tickets import conninfo
from inference.ticket_worker import TicketWorker

STUB_IMAGE = [StoredImage(1, "0" * 64, 64, 64, 1)]


def stub_start_next(repo: WorkerJobs, name: str):  # type: ignore[no-untyped-def]
    """As Worker.start_next, rendering nothing."""

    async def start_next() -> bool:
        job = await repo.claim_next(name)
        if job is None:
            return False
        await repo.finish(job.id, STUB_IMAGE, [1], 0.01, name)
        return True

    return start_next


async def main(url: str, name: str) -> None:
    engine = make_engine(url)
    repo = WorkerJobs(make_sessionmaker(engine), max_running_per_user=3)
    worker = TicketWorker(conninfo(repo.url), stub_start_next(repo, name), name, 0.5)
    try:
        await worker.serve()
    finally:
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
