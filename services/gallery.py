"""What a signed link may see on the web companion: a job's page, a member's gallery, a
server's public gallery, and their images.

Checked on every request: the link's signature and expiry (services.links), the member's
standing (a ban where the link was handed out, or everywhere, shuts it; so does erasing
their data with /privacy delete after the link was made), and the job's
visibility: a deleted job is never shown; a stealth job only to its owner; another member's
job only when it was made in the server the link was handed out in; a job page link opens
that job only. What may not be seen is "not found" (404), so a link never confirms that a
hidden job exists; a bad link is "refused" (403). The link button on a result message is
handed to whoever sees the message: member 0, that job's page only, public jobs only.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from db import (
    AuditLog,
    BanRepository,
    GalleryFilter,
    GalleryJobs,
    ImageStore,
    Job,
    JobState,
    MemberJobs,
)
from inference.presets import Preset
from services.job_controls import JobDetails, job_details
from services.links import Grant, LinkRefused, Links
from services.privacy import ERASED

PAGE_SIZE = 24
THUMB_SIDE = 384
THUMB_FORMAT = "thumb.webp"


class NotVisible(Exception):
    """Nothing this link may see is here (404)."""


@dataclass(frozen=True)
class GalleryPage:
    jobs: Sequence[Job]
    next_before: int | None  # the `before` of the next page; None on the last


@dataclass(frozen=True)
class JobPage:
    job: Job
    details: JobDetails
    parent: Job | None  # when the link may see it
    children: Sequence[Job]


class Gallery:
    def __init__(
        self,
        links: Links,
        jobs: MemberJobs,
        listings: GalleryJobs,
        bans: BanRepository,
        audit: AuditLog,
        store: ImageStore,
        presets: Mapping[str, Preset],
    ) -> None:
        self.audit = audit
        self.presets = presets
        self.links = links
        self.jobs = jobs
        self.listings = listings
        self.bans = bans
        self.store = store

    async def grant(self, token: str) -> Grant:
        """The link's grant, if it still holds; LinkRefused otherwise."""
        grant = self.links.check(token)
        if not grant.member:
            return grant
        if await self.bans.active_ban(grant.guild, grant.member):
            raise LinkRefused("This link no longer works: its member is banned here.")
        erased = await self.audit.latest(ERASED, grant.member)
        if erased is not None and erased.timestamp() >= grant.issued:
            raise LinkRefused("This link was revoked: its member deleted their data.")
        return grant

    async def job_page(self, grant: Grant, job_id: int) -> JobPage:
        job = await self.visible_job(grant, job_id)
        parent = None
        if job.parent_id is not None:
            parent = _seen(grant, await self.jobs.get(job.parent_id))
        children = [c for c in await self.listings.children(job.id) if _may_see(grant, c)]
        return JobPage(job, job_details(job, self.presets), parent, children)

    async def visible_job(self, grant: Grant, job_id: int) -> Job:
        if grant.job is not None and grant.job != job_id:
            raise NotVisible()
        job = _seen(grant, await self.jobs.get(job_id))
        if job is None:
            raise NotVisible()
        return job

    async def member_page(
        self, grant: Grant, found: GalleryFilter, before: int | None
    ) -> GalleryPage:
        if grant.job is not None:
            raise NotVisible()  # a job page link opens that page only
        jobs = await self.listings.of_member(grant.member, found, before, PAGE_SIZE + 1)
        return _page(jobs)

    async def server_page(
        self, grant: Grant, found: GalleryFilter, before: int | None
    ) -> GalleryPage:
        if grant.job is not None or grant.guild is None:
            raise NotVisible()  # a server's gallery is for links handed out in it
        jobs = await self.listings.of_server(grant.guild, found, before, PAGE_SIZE + 1)
        return _page(jobs)

    def image(self, job: Job, index: int) -> tuple[bytes, str]:
        """Image `index` of a job (0: the grid) and its format. Blocking: from a thread."""
        image = next((i for i in job.images if i.index == index), None)
        if image is None:
            raise NotVisible()
        return self.store.get(image.sha256, image.format), image.format

    def thumbnail(self, job: Job, index: int) -> bytes:
        """A WebP of image `index` at most THUMB_SIDE a side, made once and kept beside it.
        Blocking: from a thread."""
        from PIL import Image

        image = next((i for i in job.images if i.index == index), None)
        if image is None:
            raise NotVisible()
        path = self.store.path(image.sha256, THUMB_FORMAT)
        if path.exists():
            return path.read_bytes()
        with Image.open(self.store.path(image.sha256, image.format)) as source:
            small = source.convert("RGB")
            small.thumbnail((THUMB_SIDE, THUMB_SIDE))
        out = io.BytesIO()
        small.save(out, "WEBP", quality=80)
        data = out.getvalue()
        self.store.write(image.sha256, THUMB_FORMAT, data)
        return data


def _seen(grant: Grant, job: Job | None) -> Job | None:
    return job if job is not None and _may_see(grant, job) else None


def _may_see(grant: Grant, job: Job) -> bool:
    if job.deleted_at is not None:
        return False
    if job.user_id == grant.member:
        return True
    return (
        not job.stealth
        and job.state == JobState.DONE
        and grant.guild is not None
        and job.guild_id == grant.guild
    )


def _page(jobs: Sequence[Job]) -> GalleryPage:
    if len(jobs) > PAGE_SIZE:
        return GalleryPage(jobs[:PAGE_SIZE], jobs[PAGE_SIZE - 1].id)
    return GalleryPage(jobs, None)
