"""A process's health and metrics: /healthz (up), /readyz (Discord connected, the database
reachable, a live worker for each model preset in use) and the gauges read from the
database when /metrics is scraped; the counters of moderation and of Discord's answers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta

from prometheus_client import Counter, Gauge

from db import JobState, JobStats, WorkerRegistry
from db.models import utcnow
from inference.metrics import update_gpu_memory

MODERATION_DECISIONS = Counter(
    "imaginebot_moderation_decisions_total",
    "Prompts moderated, by the layer that decided and the category",
    ["decision", "layer", "category"],
)
DISCORD_ERRORS = Counter(
    "imaginebot_discord_rest_errors_total", "Discord REST answers of 400 and above", ["status"]
)
DISCORD_RATE_LIMITED = Counter(
    "imaginebot_discord_rate_limited_total", "Discord REST answers of 429 (rate limited)"
)
JOBS = Gauge("imaginebot_jobs", "Jobs in the database, by state and kind", ["state", "kind"])
QUEUE_DEPTH = Gauge("imaginebot_queue_depth", "Jobs waiting for a worker")
OLDEST_WAIT = Gauge("imaginebot_queue_oldest_wait_seconds", "How long the oldest job has waited")
WORKERS = Gauge("imaginebot_workers", "Live workers")
WORKERS_SERVING = Gauge("imaginebot_workers_serving", "Live workers serving a preset", ["model"])


class Health:
    def __init__(
        self,
        stats: JobStats,
        workers: WorkerRegistry,
        models: Sequence[str],
        lease_s: float,
        discord_connected: Callable[[], bool] | None = None,
    ) -> None:
        self.stats = stats
        self.workers = workers
        self.models = list(models)  # the presets in use: each needs a live worker
        self.lease_s = lease_s
        self.discord_connected = discord_connected  # None: this process has no Discord

    async def problems(self) -> list[str]:
        """Why this process is not ready (empty: ready)."""
        problems = []
        if self.discord_connected is not None and not self.discord_connected():
            problems.append("Discord is not connected")
        try:
            _, serving = await self._serving()
        except Exception as exc:  # any driver error: the database is what is down
            return [*problems, f"the database is unreachable ({type(exc).__name__})"]
        unserved = [m for m in self.models if not serving.get(m)]
        if unserved:
            problems.append(f"no live worker serves {', '.join(unserved)}")
        return problems

    async def refresh_metrics(self) -> None:
        """Set the gauges read from the database (at each scrape)."""
        counts = await self.stats.by_state_and_kind()
        JOBS.clear()
        for (state, kind), count in counts.items():
            JOBS.labels(state, kind).set(count)
        QUEUE_DEPTH.set(sum(c for (state, _), c in counts.items() if state == JobState.QUEUED))
        oldest = await self.stats.oldest_queued()
        OLDEST_WAIT.set((utcnow() - oldest).total_seconds() if oldest else 0)
        update_gpu_memory()
        live, serving = await self._serving()
        WORKERS.set(live)
        WORKERS_SERVING.clear()
        for model, count in serving.items():
            WORKERS_SERVING.labels(model).set(count)

    async def _serving(self) -> tuple[int, dict[str, int]]:
        """Live workers, and how many serve each preset (db.WorkerRegistry.serving)."""
        return await self.workers.serving(utcnow() - timedelta(seconds=self.lease_s))


def count_decision(allowed: bool, layer: str | None, category: str | None) -> None:
    MODERATION_DECISIONS.labels(
        "allowed" if allowed else "blocked", layer or "none", category or "none"
    ).inc()


def count_discord_answer(status: int) -> None:
    if status >= 400:
        DISCORD_ERRORS.labels(str(status)).inc()
    if status == 429:
        DISCORD_RATE_LIMITED.inc()
