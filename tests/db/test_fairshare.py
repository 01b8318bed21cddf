from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from db.fairshare import Candidate, pick_next

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
