"""Metrics and health of the bot on the fake Discord: /healthz, /readyz's states and the
Prometheus series a scrape shows after real jobs (values read from the database, counters
of this process)."""

from __future__ import annotations

import asyncio
import socket

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def _get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http:
        for _ in range(100):
            try:
                async with http.get(url) as response:
                    return response.status, await response.text()
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.05)
    raise AssertionError(f"nothing answers at {url}")


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def _start(runner, run_worker=True):
    port = _free_port()
    runner.settings = runner.settings.model_copy(update={"metrics_port": port})
    bot = await runner.start(run_worker=run_worker)
    return bot, f"http://127.0.0.1:{port}"


async def test_ready_with_a_live_worker_and_the_series_follow_real_jobs(world, runner):
    bot, base = await _start(runner)
    assert (await _get(f"{base}/healthz"))[0] == 200
    for _ in range(100):  # the worker's first heartbeat
        status, body = await _get(f"{base}/readyz")
        if status == 200:
            break
        await asyncio.sleep(0.1)
    assert status == 200, body
    inter = await world.fake.slash(world.alice, world.channel, "imagine", prompt="a fox --seed 3")
    await inter.wait_for_response()
    await world.fake.wait_for(lambda: inter.original.attachments, timeout=60)
    blocked = await world.fake.slash(world.alice, world.channel, "imagine", prompt="a naked woman")
    await blocked.wait_for_response()
    assert blocked.ephemeral
    status, text = await _get(f"{base}/metrics")
    assert status == 200
    samples = _samples(text)
    assert samples[("imaginebot_jobs", (("kind", "imagine"), ("state", "done")))] == 1
    assert samples[("imaginebot_queue_depth", ())] == 0
    assert samples[("imaginebot_workers", ())] == 1
    assert samples[("imaginebot_workers_serving", (("model", "tiny"),))] == 1
    renders = ("imaginebot_render_seconds_count", (("kind", "imagine"), ("model", "tiny")))
    assert samples[renders] >= 1
    assert samples[("imaginebot_render_step_seconds_count", (("model", "tiny"),))] >= 1
    blocks = [
        value for (name, labels), value in samples.items()
        if name == "imaginebot_moderation_decisions_total" and ("decision", "blocked") in labels
    ]  # fmt: skip
    assert sum(blocks) >= 1
    assert all(name.startswith("imaginebot_") or not name.startswith("imagine")
               for name, _ in samples)  # fmt: skip


async def test_not_ready_without_a_worker_for_the_model_saying_why(world, runner):
    _, base = await _start(runner, run_worker=False)
    status, body = await _get(f"{base}/readyz")
    assert status == 503 and "no live worker serves tiny" in body
    assert (await _get(f"{base}/healthz"))[0] == 200
