"""A worker's procrastinate side (distributed mode, PostgreSQL): take dispatch tickets, each
a cue to start the fairest startable job (db/tickets.py says what a ticket is and who writes
one). procrastinate brings the wake-ups (LISTEN/NOTIFY on the ticket's insert, with polling
as a fallback), one ticket per worker at a time, and the workers' heartbeats that show which
tickets a dead worker held.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any
from weakref import WeakKeyDictionary

import procrastinate
import psycopg
import psycopg_pool
from procrastinate.exceptions import AppNotOpen, ConnectorException
from procrastinate.jobs import Status

from db import session, tickets

log = logging.getLogger(__name__)

# Seconds between a worker's heartbeats, and after which a silent worker counts as dead: its
# tickets are removed, its job comes back through the job's own lease, and db.tickets.top_up
# replaces a ticket it held before it had started a job.
HEARTBEAT_S = 5.0
DEAD_AFTER_S = 20.0
POOL_WAIT_S = 10.0
RETRY = procrastinate.RetryStrategy(max_attempts=5, wait=1)


class TicketWorker:
    """Runs `start_next` for every ticket it takes, one at a time."""

    def __init__(
        self,
        conninfo: str,
        start_next: Callable[[], Awaitable[object]],
        name: str,
        poll_interval: float,
    ) -> None:
        self.name = name
        self.poll_interval = poll_interval
        self.app = procrastinate.App(
            # A connection waited for at most POOL_WAIT_S (psycopg's pool `timeout`): with
            # the database down, operations fail, and the worker stops, in that time.
            connector=procrastinate.PsycopgConnector(
                conninfo=conninfo,
                min_size=1,
                max_size=4,
                timeout=POOL_WAIT_S,
                pool_factory=checking_idle_connections,
            )
        )

        # A claim or result write that fails (the database restarting) gives the ticket back
        # for another try a second later; a ticket whose tries run out is made up for by
        # db.tickets.top_up.
        @self.app.task(name=tickets.TASK, queue=tickets.QUEUE, retry=RETRY)
        async def start_next_job(job_id: int) -> None:
            # job_id is the job whose change wrote the ticket; the fairest one starts.
            await start_next()

    async def serve(self) -> None:
        """Take tickets until cancelled; a lost connection (the database restarting) restarts
        procrastinate's worker once the database answers again."""
        while True:
            try:
                async with self.app.open_async():
                    await self.app.run_worker_async(
                        queues=[tickets.QUEUE],
                        name=self.name,
                        concurrency=1,
                        install_signal_handlers=False,
                        delete_jobs="always",
                        fetch_job_polling_interval=self.poll_interval,
                        # Stopping (cancelled) abandons the render at once; Worker.run gives
                        # the job back (its lease would, if the database is down).
                        shutdown_graceful_timeout=0,
                        update_heartbeat_interval=HEARTBEAT_S,
                        stalled_worker_timeout=DEAD_AFTER_S,
                    )
                log.warning("procrastinate's worker stopped; starting it again")
            except Exception:
                # Stopping with the database down ends in procrastinate's failure to sign the
                # worker off, which takes the place of the cancellation: stop all the same.
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise asyncio.CancelledError from None
                log.exception("procrastinate's worker failed; starting it again")
            await asyncio.sleep(self.poll_interval)

    async def remove_stalled(self) -> int:
        """Remove tickets held by dead workers (their jobs come back through their leases,
        with new tickets): procrastinate would otherwise keep them as 'doing' for ever. Only
        while `serve` runs (the app is open then); before, nothing is removed."""
        try:
            stalled = await self.app.job_manager.get_stalled_jobs(
                queue=tickets.QUEUE, seconds_since_heartbeat=DEAD_AFTER_S
            )
        except AppNotOpen:  # the model is still loading: next time
            return 0
        removed = 0
        for ticket in stalled:
            assert ticket.id is not None
            try:
                await self.app.job_manager.finish_job_by_id_async(
                    ticket.id, status=Status.FAILED, delete_job=True
                )
                removed += 1
            except ConnectorException:  # another live worker removed it first
                log.debug("ticket %s was removed already", ticket.id)
        return removed


def checking_idle_connections(**pool_args: Any) -> psycopg_pool.AsyncConnectionPool:
    """procrastinate's connection pool, checking a connection before use only the first
    time and once it lay unused db.session.PING_AFTER_IDLE_S since its last use began, as
    our own pool does (db/session.py says why). procrastinate's own check is a round trip
    at every use: a quarter of a ticket's Python time. A connection the server dropped
    while in steady use fails procrastinate's next query with it; its worker then stops and
    TicketWorker.serve starts it again."""
    last_used: WeakKeyDictionary[psycopg.AsyncConnection[Any], float] = WeakKeyDictionary()

    async def check(connection: psycopg.AsyncConnection[Any]) -> None:
        since = last_used.get(connection)
        if since is None or time.monotonic() - since >= session.PING_AFTER_IDLE_S:
            await psycopg_pool.AsyncConnectionPool.check_connection(connection)
        last_used[connection] = time.monotonic()

    return psycopg_pool.AsyncConnectionPool(**{**pool_args, "check": check})
