"""Serving the web companion: inside the bot's process (IMAGINEBOT_WEB_PORT), or alone as
`imaginebot web` beside a bot in distributed mode (the same database and image store)."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from services.gallery import Gallery
from services.health import Health
from services.regions import RegionJobs
from web.app import create_app
from web.health import add_health_routes

log = logging.getLogger(__name__)


async def serve(
    gallery: Gallery, regions: RegionJobs | None, health: Health | None, host: str, port: int
) -> None:
    """Serve until cancelled (with /metrics, /healthz and /readyz when `health` is given)."""
    app = create_app(gallery, regions)
    if health is not None:
        add_health_routes(app, health)
    runner = web.AppRunner(app, access_log=None)  # links carry their keys
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        log.info(
            "web companion on http://%s:%d (links start %s)", host, port, gallery.links.base_url
        )
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
