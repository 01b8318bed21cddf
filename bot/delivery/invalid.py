"""The invalid-request budget: Discord restricts an IP that sends too many invalid requests
(401, 403 and 429 answers, not counting 429s of a shared rate limit: 10,000 in 10 minutes).

Every answer through the client's HTTP session (bot token and interaction webhooks alike) is
counted by an aiohttp trace; while this process's own, much smaller budget is spent, the
delivery loop holds its edits and posts (the jobs table keeps them) instead of adding more.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import aiohttp

from services.health import count_discord_answer

WINDOW_S = 600.0
BUDGET = 1000  # a tenth of what Discord tolerates
COUNTED = frozenset({401, 403, 429})


class InvalidRequests:
    """A sliding-window count of invalid requests. Pure: the caller passes the clock."""

    def __init__(self, budget: int = BUDGET, window_s: float = WINDOW_S) -> None:
        self.budget = budget
        self.window_s = window_s
        self._times: deque[float] = deque()

    def record(self, now: float) -> None:
        self._times.append(now)
        self._expire(now)

    def spent(self, now: float) -> int:
        self._expire(now)
        return len(self._times)

    def exhausted(self, now: float) -> bool:
        return self.spent(now) >= self.budget

    def _expire(self, now: float) -> None:
        while self._times and now - self._times[0] >= self.window_s:
            self._times.popleft()


def counting_trace(
    invalid: InvalidRequests, clock: Callable[[], float] = time.monotonic
) -> aiohttp.TraceConfig:
    """An aiohttp trace that records every answer Discord counts as invalid (and counts
    every error answer in the metrics)."""

    async def on_request_end(
        _session: aiohttp.ClientSession, _context: SimpleNamespace, params: Any
    ) -> None:
        response = params.response
        count_discord_answer(response.status)
        shared = response.headers.get("X-RateLimit-Scope") == "shared"
        if response.status in COUNTED and not (response.status == 429 and shared):
            invalid.record(clock())

    trace = aiohttp.TraceConfig()
    trace.on_request_end.append(on_request_end)
    return trace
