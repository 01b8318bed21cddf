"""/mod stats: a server's usage over the last days, with a chart, for moderators only."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from services.server_stats import CHART_SIZE

pytestmark = pytest.mark.slow


async def test_stats_count_jobs_members_blocks_and_show_a_chart(world, runner):
    fake = world.fake
    await runner.start()
    done = await fake.slash(world.alice, world.channel, "imagine", prompt="a fox --seed 1")
    await done.wait_for_response()
    await fake.wait_for(lambda: done.original.attachments and done.original.components, timeout=60)
    other = await fake.slash(world.bob, world.channel, "imagine", prompt="an owl --seed 2")
    await other.wait_for_response()
    blocked = await fake.slash(world.alice, world.channel, "imagine", prompt="a naked woman")
    await blocked.wait_for_response()

    stats = await fake.slash(world.mod, world.channel, "mod", "stats", days=7)
    await stats.wait_for_response()
    message = stats.original
    assert stats.ephemeral
    assert "**Jobs:** 2" in message.content and "**Members:** 2" in message.content
    assert "**Blocked prompts:** 1" in message.content
    assert "tiny (2)" in message.content
    chart = Image.open(io.BytesIO(message.attachments[0].data))
    assert chart.format == "PNG" and chart.size == CHART_SIZE

    refused = await fake.slash(world.alice, world.channel, "mod", "stats")
    await refused.wait_for_response()
    assert refused.ephemeral and not refused.original.attachments
    too_far = await fake.slash(world.mod, world.channel, "mod", "stats", days=400)
    await too_far.wait_for_response()
    assert "1 to 90" in too_far.original.embeds[0]["description"]
