"""The wait estimate of a queued job's message."""

from __future__ import annotations

import pytest

from services.estimates import spoken, wait_seconds


def test_the_jobs_ahead_are_shared_among_the_models_workers():
    assert wait_seconds(1, 20.0, 1) == 20.0
    assert wait_seconds(3, 20.0, 1) == 60.0
    assert wait_seconds(3, 20.0, 2) == 40.0  # two at a time: the third goes in the second round
    assert wait_seconds(4, 20.0, 2) == 40.0


@pytest.mark.parametrize(
    ("place", "render_s", "workers"), [(1, None, 1), (1, 20.0, 0), (0, 20.0, 1)]
)
def test_no_figure_without_a_render_time_or_a_worker(place, render_s, workers):
    assert wait_seconds(place, render_s, workers) is None


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(2, "about 5 s"), (12, "about 10 s"), (41, "about 40 s"), (80, "about 1 min"),
     (170, "about 3 min"), (7200, "about 2 h")],
)  # fmt: skip
def test_waits_read_as_people_say_them(seconds, text):
    assert spoken(seconds) == text
