"""Which queued job runs next: pure fair-share ordering, no I/O.

The next job goes to the user who has used the least GPU time recently, so one user's
40-job permutation cannot starve somebody's single job: once that user has a job running
or finished, everyone with less usage goes first. Relax-lane jobs yield to fast-lane ones,
and a fast job of a user who has spent their daily fast allowance runs as relax.

This module is the rule. The worker's claim (db.jobs) applies it in SQL, so that the worker
receives one row instead of every candidate's standing; a property test checks the two agree.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

RELAX = "relax"


def effective_lane(lane: str | None, fast_used_s: float, allowance_s: float | None) -> str:
    """The lane a job runs in: what it asked for, unless fast time for today is spent."""
    if lane == RELAX or (allowance_s is not None and fast_used_s >= allowance_s):
        return RELAX
    return lane or "fast"


@dataclass(frozen=True)
class Candidate:
    """A queued job, as the fair-share order sees it."""

    job_id: int
    user_id: int
    created_at: datetime
    lane: str | None = None


def queue_order(
    queued: Iterable[Candidate],
    recent_gpu_seconds: Mapping[int, float],
    running: Mapping[int, int],
) -> list[int]:
    """Every queued job id in the order they would start (the first is the fairest: see
    _key), assuming each started job keeps running (so a user's next job waits behind
    everyone with fewer running). The claim (db.jobs) applies the same key in SQL.
    O(n log users): one heap entry per user, keyed by their oldest queued job."""
    by_user: defaultdict[int, list[Candidate]] = defaultdict(list)
    for candidate in sorted(queued, key=lambda c: (c.created_at, c.job_id), reverse=True):
        by_user[candidate.user_id].append(candidate)  # oldest last: pop() takes it
    started = dict(running)
    heap = [(_key(jobs[-1], recent_gpu_seconds, started), user) for user, jobs in by_user.items()]
    heapq.heapify(heap)
    order: list[int] = []
    while heap:
        _, user = heapq.heappop(heap)
        order.append(by_user[user].pop().job_id)
        started[user] = started.get(user, 0) + 1
        if by_user[user]:
            heapq.heappush(heap, (_key(by_user[user][-1], recent_gpu_seconds, started), user))
    return order


def _key(
    c: Candidate, recent_gpu_seconds: Mapping[int, float], running: Mapping[int, int]
) -> tuple[bool, int, float, datetime, int]:
    """Fast before relax, then fewest running, least recent GPU time, oldest request."""
    return (
        c.lane == RELAX,
        running.get(c.user_id, 0),
        recent_gpu_seconds.get(c.user_id, 0.0),
        c.created_at,
        c.job_id,
    )
