from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from db.fairshare import Candidate, effective_lane, queue_order

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
def test_the_fairest_candidate_starts_first(candidates, usage, running, expected):
    order = queue_order(candidates, usage, running)
    assert (order[0] if order else None) == expected
    assert sorted(order) == sorted(c.job_id for c in candidates)


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


def test_queue_order_interleaves_users_so_a_single_job_waits_behind_at_most_one():
    a_jobs = [_c(n, 1, minute=n) for n in range(1, 41)]  # user 1's 40-job permutation
    b_job = _c(100, 2, minute=50)
    order = queue_order([*a_jobs, b_job], {}, {})
    assert order.index(100) <= 1 and sorted(order) == sorted([*range(1, 41), 100])
    assert [j for j in order if j != 100] == list(range(1, 41))  # a user's own jobs stay in order


def test_queue_order_puts_a_members_later_jobs_behind_everyone_with_fewer_running():
    queued = [_c(1, 1, 0), _c(2, 1, 1), _c(3, 2, 2, lane="relax"), _c(4, 3, 3)]
    usage, running = {3: 30.0}, {1: 1}
    assert queue_order(queued, usage, running) == [4, 1, 2, 3]  # relax last


def test_queue_order_of_nothing_is_empty():
    assert queue_order([], {}, {}) == []
