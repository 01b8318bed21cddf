"""A worker's procrastinate side (distributed mode, PostgreSQL): take dispatch tickets, each
a cue to start the fairest startable job (db/tickets.py says what a ticket is and who writes
one). procrastinate brings the wake-ups (LISTEN/NOTIFY on the ticket's insert, with polling
as a fallback), one ticket per worker at a time, and the workers' heartbeats that show which
tickets a dead worker held.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import procrastinate
from procrastinate.jobs import Status

from db import tickets

log = logging.getLogger(__name__)

# Seconds procrastinate waits between heartbeats of a worker, and after which a silent worker
# counts as dead (its tickets are then removed; its job's own lease brings the job back).
HEARTBEAT_S = 5.0
DEAD_AFTER_S = 20.0


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
            connector=procrastinate.PsycopgConnector(conninfo=conninfo, min_size=1, max_size=4)
        )

        @self.app.task(name=tickets.TASK, queue=tickets.QUEUE)
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
                        # Stopping (cancelled) abandons the render at once: the job's lease
                        # brings it back, as when a worker dies.
                        shutdown_graceful_timeout=0,
                        update_heartbeat_interval=HEARTBEAT_S,
                        stalled_worker_timeout=DEAD_AFTER_S,
                    )
                log.warning("procrastinate's worker stopped; starting it again")
            except Exception:
                log.exception("procrastinate's worker failed; starting it again")
            await asyncio.sleep(self.poll_interval)

    async def remove_stalled(self) -> int:
        """Remove tickets held by dead workers (their jobs come back through their leases,
        with new tickets): procrastinate would otherwise keep them as 'doing' for ever. Only
        while `serve` runs (the app is open then)."""
        stalled = await self.app.job_manager.get_stalled_jobs(
            queue=tickets.QUEUE, seconds_since_heartbeat=DEAD_AFTER_S
        )
        for ticket in stalled:
            assert ticket.id is not None
            await self.app.job_manager.finish_job_by_id_async(
                ticket.id, status=Status.FAILED, delete_job=True
            )
        return len(stalled)
