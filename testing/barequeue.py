"""Bare procrastinate, for bench_queue's baseline: an empty task deferred and taken as
imaginebot's dispatch tickets are (the same connector, concurrency, polling and deletion of
finished jobs), with nothing of ours around it.

benchmarks/bench_queue.py runs its workers with `main` (procrastinate wants its app made in
a module other than __main__).
"""

from __future__ import annotations

import procrastinate

TASK, QUEUE = "bare.noop", "bare"


def bare_app(conninfo: str) -> procrastinate.App:
    app = procrastinate.App(
        connector=procrastinate.PsycopgConnector(conninfo=conninfo, min_size=1, max_size=4)
    )

    @app.task(name=TASK, queue=QUEUE)
    async def noop(n: int) -> None:
        return None

    return app


async def main(conninfo: str, name: str) -> None:
    app = bare_app(conninfo)
    async with app.open_async():
        await app.run_worker_async(
            queues=[QUEUE],
            name=name,
            concurrency=1,
            install_signal_handlers=True,
            delete_jobs="always",
            fetch_job_polling_interval=0.5,
        )
