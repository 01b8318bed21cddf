"""The event loop the long-running commands (`imaginebot run`, `imaginebot worker`) serve on.

uvloop where it is installed (Linux and macOS; a core dependency there), else asyncio's own
loop (Windows). Measured with benchmarks/bench_queue.py on 2 cores: a dispatched job took
10-12% less CPU (bot, workers and PostgreSQL together) with the bot and the workers on
uvloop, because its socket reads, writes and polling run in C.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

try:
    import uvloop
except ImportError:  # Windows: uvloop is not made for it
    uvloop = None  # type: ignore[assignment]

T = TypeVar("T")


def serve(main: Coroutine[Any, Any, T]) -> T:
    """Run `main` to its end on a new event loop, as asyncio.run does."""
    if uvloop is None:
        return asyncio.run(main)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)
