"""Event-loop lag monitor: how late the loop wakes a task that asked to sleep a fixed time.

Anything blocking the loop (a model call, image encoding, a synchronous query) shows up here
as lag; the bot logs the figures every minute and warns at once about a long stall.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass

log = logging.getLogger(__name__)

SAMPLE_INTERVAL_S = 0.1
STALL_WARNING_S = 0.25
REPORT_EVERY_S = 60.0


@dataclass(frozen=True)
class LagStats:
    samples: int
    p50_ms: float
    p99_ms: float
    max_ms: float


def lag_stats(lags_s: list[float]) -> LagStats:
    """Percentiles of lag samples (seconds in, milliseconds out); zeros when empty."""
    if not lags_s:
        return LagStats(0, 0.0, 0.0, 0.0)
    ordered = sorted(lags_s)

    def at(fraction: float) -> float:
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000

    return LagStats(len(ordered), at(0.5), at(0.99), ordered[-1] * 1000)


class LagMonitor:
    def __init__(self, interval: float = SAMPLE_INTERVAL_S, window: int = 3000) -> None:
        self.interval = interval
        self._lags: deque[float] = deque(maxlen=window)  # the last ~5 minutes

    def stats(self) -> LagStats:
        return lag_stats(list(self._lags))

    def reset(self) -> None:
        """Start a new window: stats() covers only what happens from now on."""
        self._lags.clear()

    async def run(self) -> None:
        last_report = time.monotonic()
        while True:
            started = time.monotonic()
            await asyncio.sleep(self.interval)
            lag = max(0.0, time.monotonic() - started - self.interval)
            self._lags.append(lag)
            if lag >= STALL_WARNING_S:
                log.warning("the event loop stalled for %.0f ms", lag * 1000)
            if started - last_report >= REPORT_EVERY_S:
                last_report = started
                s = self.stats()
                log.info(
                    "event loop lag: p50 %.1f ms, p99 %.1f ms, max %.1f ms (%d samples)",
                    s.p50_ms, s.p99_ms, s.max_ms, s.samples,
                )  # fmt: skip
