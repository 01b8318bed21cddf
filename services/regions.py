"""Vary (Region) without Discord: the member paints the part of an upscaled image to redo on
the web companion's editor, edits the prompt, and submits; the job is recorded like any
other (standing, moderation of the prompt, queue limit, history) and the bot posts it in
the channel of the image it redraws.

Only the image's owner may submit, through their own gallery link (a result's page link,
handed to whoever sees the message, opens the page but cannot submit).
"""

from __future__ import annotations

import asyncio
import io
import secrets
from dataclasses import replace
from datetime import timedelta

from PIL import Image, UnidentifiedImageError

from db import PROMPT_IMAGE_FORMAT, ImageStore, Job, JobState, MemberJobs
from db.models import utcnow
from inference.operations import JobAction, kind_of
from inference.seeds import random_seed
from services.errors import InvalidParameter, JobUnavailable, UserFacingError
from services.gallery import NotVisible
from services.intake import Intake, Placement, record
from services.links import Grant
from services.origin import Origin

MAX_MASK_BYTES = 4 * 1024 * 1024


class RegionJobs:
    def __init__(self, intake: Intake, jobs: MemberJobs, store: ImageStore) -> None:
        self.intake = intake
        self.jobs = jobs
        self.store = store

    async def editable(self, grant: Grant, job_id: int) -> Job:
        """The finished single image whose region the grant's member may redo."""
        job = await self.jobs.get(job_id)
        if (
            job is None
            or job.deleted_at is not None
            or grant.job is not None
            or job.user_id != grant.member
        ):
            raise NotVisible()
        if job.state != JobState.DONE or not kind_of(job.action).single:
            raise JobUnavailable(
                "Vary (Region) works on a single image: upscale one (U1-U4) first."
            )
        return job

    async def submit(self, grant: Grant, job_id: int, prompt: str, mask_png: bytes) -> Job:
        """Queue the Vary (Region) job; a UserFacingError says what is wrong with the prompt,
        the mask, the member's standing or their queue."""
        parent = await self.editable(grant, job_id)
        origin = Origin(
            user_id=grant.member,
            channel_id=parent.channel_id,
            guild_id=parent.guild_id,
            interaction_id=secrets.randbits(62),  # keys this submission's row
            application_id=0,
            interaction_token="",
            reply_expires_at=utcnow() + timedelta(minutes=15),
        )
        intake = self.intake
        await intake.check_standing(origin, parent.guild_id)
        prefs = await intake.prefs.get(grant.member)
        prompt = prompt.strip() or parent.prompt
        request = intake.parse_one(prompt, prefs)
        if request.repeat > 1:
            raise InvalidParameter(
                "--repeat cannot be used in Vary (Region), which makes one job.",
                "region_repeat",
                prompt,
            )
        await intake.check_allowed([request], prompt, origin)
        limit = await intake.admit(origin, await intake.guilds.rules(origin.guild_id))
        mask = await asyncio.to_thread(self._store_mask, mask_png, parent)
        placement = Placement(parent.model, parent.stealth, parent.id, 1)
        new = record(
            origin, 0, prompt, request, JobAction.VARY_REGION, random_seed(), placement, [mask]
        )
        # Made off Discord: no interaction, so the bot posts it in the channel (and edits it
        # with its own token).
        new = replace(new, interaction_id=None, application_id=None, interaction_token=None)
        [(job, _)] = await intake.insert([new], JobState.QUEUED, limit)
        return job

    def _store_mask(self, data: bytes, parent: Job) -> str:
        """The painted mask as a stored PNG (white: redraw), checked: an image of the
        source's size that paints something. Blocking: from a thread."""
        if len(data) > MAX_MASK_BYTES:
            raise UserFacingError("The mask is too large to upload.", hint="Paint less finely.")
        source = next((i for i in parent.images if i.index == 1), None)
        if source is None:
            raise JobUnavailable("That job has no image to vary.")
        try:
            with Image.open(io.BytesIO(data)) as opened:
                if opened.format != "PNG" or opened.size != (source.width, source.height):
                    raise ValueError(f"a {opened.format} of {opened.size}")
                mask = _painted(opened)
        except (UnidentifiedImageError, ValueError, OSError) as exc:
            raise UserFacingError(
                f"The mask could not be read ({exc}).", hint="Reload the editor and paint again."
            ) from None
        if mask.getbbox() is None:
            raise UserFacingError(
                "Nothing is painted.", hint="Paint the region to redo, then submit."
            )
        out = io.BytesIO()
        mask.save(out, "PNG")
        return self.store.put(out.getvalue(), PROMPT_IMAGE_FORMAT)


def _painted(image: Image.Image) -> Image.Image:
    """White where the member painted (the editor paints opaque strokes on a transparent
    canvas), black elsewhere."""
    alpha = image.convert("RGBA").getchannel("A")
    return alpha.point(lambda v: 255 if v > 127 else 0).convert("RGB")
