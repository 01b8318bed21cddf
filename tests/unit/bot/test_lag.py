from __future__ import annotations

import asyncio
import time

import pytest

from bot.lag import LagMonitor, lag_stats


def test_lag_percentiles_in_milliseconds():
    stats = lag_stats([0.001] * 98 + [0.1, 0.5])
    assert (stats.samples, stats.p50_ms, stats.max_ms) == (100, 1.0, 500.0)
    assert stats.p99_ms == pytest.approx(500.0)
    assert lag_stats([]).samples == 0


async def test_a_blocked_loop_shows_up_as_lag():
    monitor = LagMonitor(interval=0.01)
    task = asyncio.create_task(monitor.run())
    await asyncio.sleep(0.05)
    time.sleep(0.2)  # noqa: ASYNC251 - blocking the loop is what this test does
    await asyncio.sleep(0.05)
    task.cancel()
    assert monitor.stats().max_ms >= 150


async def test_reset_starts_a_new_window():
    monitor = LagMonitor(interval=0.01)
    task = asyncio.create_task(monitor.run())
    await asyncio.sleep(0.05)
    time.sleep(0.2)  # noqa: ASYNC251 - a stall before the reset
    await asyncio.sleep(0.05)
    monitor.reset()
    await asyncio.sleep(0.1)
    task.cancel()
    stats = monitor.stats()
    assert 0 < stats.samples <= 11 and stats.max_ms < 190  # the 200 ms stall is forgotten
