"""How long a waiting job will wait, for its message: the jobs ahead of it in the fair-share
order (its place), shared among the live workers serving its model, each taking the model's
recent median render time. Pure."""

from __future__ import annotations

import math


def wait_seconds(place: int, render_s: float | None, workers: int) -> float | None:
    """Seconds until the job at `place` (1 = next) is done; None without a recent render time
    or a worker for its model, so no made-up figure is shown."""
    if render_s is None or workers < 1 or place < 1:
        return None
    return math.ceil(place / workers) * render_s


def spoken(seconds: float) -> str:
    """'about 40 s', 'about 3 min', 'about 2 h'."""
    if seconds < 55:
        return f"about {max(5, round(seconds / 5) * 5)} s"
    if seconds < 3600:
        return f"about {max(1, round(seconds / 60))} min"
    return f"about {seconds / 3600:.0f} h"
