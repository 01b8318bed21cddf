"""The web companion's pages: a job, a member's gallery, a server's gallery, and images."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from db import GalleryFilter, Job
from inference.operations import kind_of
from services.gallery import Gallery, NotVisible
from services.links import Grant

CONTENT_TYPES = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp"}
# The request fields a job page lists (the rest are empty defaults or internal).
SHOWN_FIELDS = (
    "aspect", "seed", "chaos", "stylize", "quality", "stop", "weird", "tile", "negative",
    "image_weight", "style", "style_weight", "character_weight", "lane", "blend",
)  # fmt: skip


def _gallery(request: web.Request) -> Gallery:
    from web.app import GALLERY

    return request.app[GALLERY]


async def _grant(request: web.Request) -> Grant:
    return await _gallery(request).grant(request.query.get("t", ""))


async def _job(request: web.Request) -> tuple[Grant, Job]:
    grant = await _grant(request)
    job = await _gallery(request).visible_job(grant, int(request.match_info["job"]))
    return grant, job


async def job_page(request: web.Request) -> web.Response:
    grant = await _grant(request)
    page = await _gallery(request).job_page(grant, int(request.match_info["job"]))
    job = page.job
    parameters = {
        name: value
        for name, value in job.request.items()
        if name in SHOWN_FIELDS and value not in (None, [], False, "")
    }
    context = {
        "page": page,
        "job": job,
        "token": request.query["t"],
        "kind": kind_of(job.action),
        "parameters": parameters,
        "singles": [i for i in job.images if i.index > 0],
        "grid": next((i for i in job.images if i.index == 0), None),
        "answer": (job.answer or {}).get("prompts") or (job.answer or {}).get("options") or [],
        "seeds": dict(page.details.seeds),
    }
    return aiohttp_jinja2.render_template("job.html", request, context)


async def job_image(request: web.Request) -> web.Response:
    _, job = await _job(request)
    data, fmt = await asyncio.to_thread(
        _gallery(request).image, job, int(request.match_info["index"])
    )
    return _image_response(data, CONTENT_TYPES.get(fmt, "application/octet-stream"))


async def job_thumb(request: web.Request) -> web.Response:
    _, job = await _job(request)
    data = await asyncio.to_thread(
        _gallery(request).thumbnail, job, int(request.match_info["index"])
    )
    return _image_response(data, "image/webp")


async def member_gallery(request: web.Request) -> web.Response:
    grant = await _grant(request)
    found, before = _filters(request)
    page = await _gallery(request).member_page(grant, found, before)
    return _listing(request, "Your gallery", page, found, grant, server=False)


async def server_gallery(request: web.Request) -> web.Response:
    grant = await _grant(request)
    found, before = _filters(request)
    page = await _gallery(request).server_page(grant, found, before)
    return _listing(request, "This server's gallery", page, found, grant, server=True)


def _listing(
    request: web.Request, title: str, page: Any, found: GalleryFilter, grant: Grant, server: bool
) -> web.Response:
    context = {
        "title": title,
        "page": page,
        "found": found,
        "token": request.query["t"],
        "server": server,
        "has_server": grant.guild is not None,
        "cover": {job.id: _cover(job) for job in page.jobs},
    }
    return aiohttp_jinja2.render_template("gallery.html", request, context)


def _cover(job: Job) -> int | None:
    """The image a gallery shows for a job: its grid, else its single image, else none."""
    indices = sorted(i.index for i in job.images)
    return indices[0] if indices else None


def _filters(request: web.Request) -> tuple[GalleryFilter, int | None]:
    query = request.query
    before = query.get("before", "")
    if before and not before.isdigit():
        raise NotVisible()
    found = GalleryFilter(
        favourites=query.get("fav") == "1",
        model=query.get("model") or None,
        text=(query.get("q") or "")[:200] or None,
    )
    return found, int(before) if before else None


def _image_response(data: bytes, content_type: str) -> web.Response:
    response = web.Response(body=data, content_type=content_type)
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response
