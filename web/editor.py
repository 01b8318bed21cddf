"""The Vary (Region) editor: the page (the image with a brush, a rectangle and a lasso to
paint the region, undo, clear, brush size, the prompt to edit), its submission, and the
new job's progress and result, which the page polls."""

from __future__ import annotations

import base64
import binascii
import hmac
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from db import JobState
from services.errors import UserFacingError
from services.regions import MAX_MASK_BYTES

MASK_PREFIX = "data:image/png;base64,"
SUBMIT_AGAIN = "Reload the editor and submit again."
PAINT_AGAIN = "Reload the editor and paint again."


def _services(request: web.Request) -> tuple[Any, Any]:
    from web.app import GALLERY, REGIONS

    return request.app[GALLERY], request.app[REGIONS]


async def editor_page(request: web.Request) -> web.Response:
    gallery, regions = _services(request)
    token = request.query.get("t", "")
    grant = await gallery.grant(token)
    job = await regions.editable(grant, int(request.match_info["job"]))
    image = next(i for i in job.images if i.index == 1)
    context = {
        "job": job,
        "image": image,
        "token": token,
        "csrf": gallery.links.csrf(token),
    }
    return aiohttp_jinja2.render_template("editor.html", request, context)


async def submit(request: web.Request) -> web.Response:
    gallery, regions = _services(request)
    token = request.query.get("t", "")
    grant = await gallery.grant(token)
    if request.content_length is None or request.content_length > 2 * MAX_MASK_BYTES:
        return _problem(413, "The mask is too large to upload.", "Paint less finely.")
    try:
        body = await request.json()
        csrf, prompt, mask = str(body["csrf"]), str(body.get("prompt", "")), str(body["mask"])
    except (ValueError, KeyError, TypeError):
        return _problem(400, "The form was not sent whole.", SUBMIT_AGAIN)
    if not hmac.compare_digest(csrf, gallery.links.csrf(token)):
        return _problem(403, "This form is not the editor's.", SUBMIT_AGAIN)
    if not mask.startswith(MASK_PREFIX):
        return _problem(400, "The mask is not a PNG image.", PAINT_AGAIN)
    try:
        png = base64.b64decode(mask[len(MASK_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        return _problem(400, "The mask is not a PNG image.", PAINT_AGAIN)
    try:
        job = await regions.submit(grant, int(request.match_info["job"]), prompt, png)
    except UserFacingError as refused:
        return _problem(422, refused.description, refused.hint)
    status = f"/jobs/{job.id}/status?t={request.query['t']}"
    return web.json_response({"job": job.id, "status": status}, status=201)


async def status(request: web.Request) -> web.Response:
    """A job's state, progress and (once done) its images' addresses, for the editor."""
    gallery, _ = _services(request)
    token = request.query.get("t", "")
    grant = await gallery.grant(token)
    job = await gallery.visible_job(grant, int(request.match_info["job"]))  # not deleted
    images = [f"/jobs/{job.id}/images/{i.index}?t={token}" for i in job.images if i.index > 0]
    return web.json_response(
        {
            "state": job.state,
            "progress": max(job.progress, 0),
            "done": job.state == JobState.DONE,
            "error": job.error if job.state == JobState.FAILED else None,
            "images": images,
            "page": f"/jobs/{job.id}?t={token}",
        }
    )


def _problem(status: int, error: str, hint: str) -> web.Response:
    return web.json_response({"error": error, "hint": hint}, status=status)
