"""/metrics (Prometheus), /healthz (the process is up) and /readyz (200 only when ready; 503
with the reasons), on IMAGINEBOT_METRICS_PORT and on the web companion when it runs."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from services.health import Health

log = logging.getLogger(__name__)
HEALTH: web.AppKey[Health] = web.AppKey("health", Health)


def add_health_routes(app: web.Application, health: Health) -> None:
    app[HEALTH] = health
    app.router.add_get("/metrics", _metrics)
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/readyz", _readyz)


async def _metrics(request: web.Request) -> web.Response:
    health = request.app[HEALTH]
    try:
        await health.refresh_metrics()
    except Exception:  # the database is down: the process's own counters still answer
        log.exception("could not read the metrics kept in the database")
    body = await asyncio.to_thread(generate_latest, REGISTRY)
    response = web.Response(body=body)
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    return response


async def _healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "up"})


async def _readyz(request: web.Request) -> web.Response:
    problems = await request.app[HEALTH].problems()
    if problems:
        return web.json_response({"status": "not ready", "problems": problems}, status=503)
    return web.json_response({"status": "ready"})


async def serve_health(health: Health, host: str, port: int) -> None:
    """Serve /metrics, /healthz and /readyz until cancelled."""
    app = web.Application()
    add_health_routes(app, health)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        log.info("metrics and health on http://%s:%d", host, port)
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
