from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from db.fairshare import Candidate, effective_lane, pick_next

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _c(job: int, user: int, minute: int = 0, lane: str | None = None) -> Candidate:
    return Candidate(job, user, T0 + timedelta(minutes=minute), lane)


@pytest.mark.parametrize(
    ("candidates", "usage", "running", "expected"),
    [
        ([], {}, {}, None),
        ([_c(1, 1), _c(2, 2, 5)], {}, {}, 1),
        ([_c(1, 1), _c(2, 2, 5)], {1: 60.0}, {}, 2),
        ([_c(1, 1), _c(2, 2, 5)], {}, {1: 1}, 2),
        ([_c(1, 1), _c(2, 2, 5)], {2: 500.0}, {1: 1}, 2),
        ([_c(1, 1, lane="relax"), _c(2, 2, 5)], {2: 500.0}, {}, 2),
        ([_c(1, 1, lane="relax"), _c(2, 2, 5, lane="relax")], {1: 1.0}, {}, 2),
    ],
    ids=[
        "empty",
        "oldest-among-equals",
        "least-gpu-time",
        "fewest-running-first",
        "running-outweighs-usage",
        "fast-before-relax",
        "relax-by-usage",
    ],
)
def test_pick_next(candidates, usage, running, expected):
    chosen = pick_next(candidates, usage, running)
    assert (chosen.job_id if chosen else None) == expected


@pytest.mark.parametrize(
    ("lane", "used", "allowance", "expected"),
    [
        (None, 0.0, 60.0, "fast"),
        ("fast", 59.9, 60.0, "fast"),
        ("fast", 60.0, 60.0, "relax"),
        ("turbo", 10.0, None, "turbo"),
        ("turbo", 61.0, 60.0, "relax"),
        ("relax", 0.0, 60.0, "relax"),
        (None, 1e9, None, "fast"),
    ],
)
def test_fast_jobs_run_as_relax_once_the_days_fast_time_is_spent(lane, used, allowance, expected):
    assert effective_lane(lane, used, allowance) == expected
