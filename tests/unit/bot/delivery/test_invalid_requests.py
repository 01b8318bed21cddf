"""The invalid-request budget counts what Discord counts (401, 403, 429 but not a shared
429), over a sliding window, through a real aiohttp session's trace."""

from __future__ import annotations

import aiohttp
from aiohttp import web

from bot.delivery.invalid import InvalidRequests, counting_trace


def test_the_window_slides_and_the_budget_refills():
    invalid = InvalidRequests(budget=3, window_s=10.0)
    for t in (0.0, 1.0, 2.0):
        invalid.record(t)
    assert invalid.exhausted(5.0) and invalid.spent(5.0) == 3
    assert not invalid.exhausted(10.5) and invalid.spent(10.5) == 2  # the first has expired
    assert invalid.spent(100.0) == 0


async def test_the_trace_counts_what_discord_counts():
    async def answer(request: web.Request) -> web.Response:
        status = int(request.match_info["status"])
        headers = {"X-RateLimit-Scope": "shared"} if request.query.get("shared") else {}
        return web.Response(status=status, headers=headers)

    app = web.Application()
    app.router.add_get("/{status}", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    invalid = InvalidRequests(budget=100)
    try:
        async with aiohttp.ClientSession(
            trace_configs=[counting_trace(invalid, lambda: 1.0)]
        ) as session:
            for path in ("200", "404", "401", "403", "429", "429?shared=1", "500"):
                async with session.get(f"http://127.0.0.1:{port}/{path}"):
                    pass
    finally:
        await runner.cleanup()
    assert invalid.spent(1.0) == 3  # 401, 403 and the 429 that was not of a shared limit
