"""The web companion's aiohttp application: routes, templates, security headers, per-link
rate limits, and the 403 / 404 pages.

Every response carries a Content-Security-Policy that allows only this origin's own images,
styles and scripts, `X-Content-Type-Options: nosniff` and `Referrer-Policy: no-referrer` (the
link's key is in its URL: no other site may see it). No route reaches the filesystem but
the image store, by a job's recorded digests.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from services.gallery import Gallery, NotVisible
from services.links import LinkRefused
from services.regions import RegionJobs
from web import editor, pages

HERE = Path(__file__).parent
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; img-src 'self'; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
# Requests one link (or one address, for requests without one) may make per minute: a
# gallery page is 25 (the page and its thumbnails).
RATE_PER_MINUTE = 600

TOO_MANY = "Too many requests from this link: wait a minute."
NOT_FOUND = "Nothing here: it was deleted, or it is not yours to see."

GALLERY: web.AppKey[Gallery] = web.AppKey("gallery", Gallery)
REGIONS: web.AppKey[RegionJobs] = web.AppKey("regions", RegionJobs)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class RateLimit:
    """A token bucket per key: RATE_PER_MINUTE requests a minute, in bursts of as many."""

    def __init__(self, per_minute: int = RATE_PER_MINUTE) -> None:
        self.per_minute = per_minute
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, when)

    def allow(self, key: str, now: float) -> bool:
        tokens, when = self._buckets.get(key, (float(self.per_minute), now))
        tokens = min(self.per_minute, tokens + (now - when) * self.per_minute / 60)
        if tokens < 1:
            self._buckets[key] = (tokens, now)
            return False
        self._buckets[key] = (tokens - 1, now)
        if len(self._buckets) > 10_000:  # forget the oldest half rather than grow forever
            for stale in sorted(self._buckets, key=lambda k: self._buckets[k][1])[:5_000]:
                del self._buckets[stale]
        return True


def create_app(
    gallery: Gallery, regions: RegionJobs | None = None, rate_per_minute: int = RATE_PER_MINUTE
) -> web.Application:
    limits = RateLimit(rate_per_minute)

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        key = request.query.get("t") or request.remote or "?"
        try:
            if not limits.allow(key, time.monotonic()):
                response: web.StreamResponse = _error(
                    request, 429, "Too many requests: wait a minute."
                )
            else:
                response = await handler(request)
        except LinkRefused as refused:
            response = _error(request, 403, str(refused))
        except NotVisible:
            response = _error(
                request, 404, "Nothing here: it was deleted, or it is not yours to see."
            )
        except web.HTTPException as http:
            if http.status < 400:
                raise
            response = _error(request, http.status, http.reason)
        response.headers.update(SECURITY_HEADERS)
        return response

    app = web.Application(middlewares=[guard])
    app[GALLERY] = gallery
    if regions is not None:
        app[REGIONS] = regions
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=jinja2.select_autoescape(default=True),
    )
    app.router.add_get("/jobs/{job:[0-9]{1,19}}", pages.job_page)
    app.router.add_get("/jobs/{job:[0-9]{1,19}}/images/{index:[0-4]}", pages.job_image)
    app.router.add_get("/jobs/{job:[0-9]{1,19}}/thumbs/{index:[0-4]}", pages.job_thumb)
    app.router.add_get("/jobs/{job:[0-9]{1,19}}/status", editor.status)
    if regions is not None:
        app.router.add_get("/jobs/{job:[0-9]{1,19}}/region", editor.editor_page)
        app.router.add_post("/jobs/{job:[0-9]{1,19}}/region", editor.submit)
    app.router.add_get("/gallery", pages.member_gallery)
    app.router.add_get("/server", pages.server_gallery)
    app.router.add_static("/static", HERE / "static", follow_symlinks=False)
    return app


def _error(request: web.Request, status: int, message: str) -> web.Response:
    return aiohttp_jinja2.render_template(
        "error.html", request, {"status": status, "message": message}, status=status
    )
