"""A member's data, to take away or to erase (/privacy export and /privacy delete).

Erasing stops the member's waiting and running jobs, hides every job and blanks its prompt,
request and interaction token (the images follow after the grace period), forgets their
preferences, withdraws their open appeals and blanks the prompts of all of them. Moderation
audit records stay (they belong to the servers), stripped of the prompt text and channel;
bans and strikes stay. Posted Discord messages are the member's to delete: their buttons no
longer work.
"""

from __future__ import annotations

import asyncio
import io
import json
import zipfile
from dataclasses import dataclass

from db import (
    Appeal,
    AppealRepository,
    AuditLog,
    GuildRepository,
    ImageStore,
    Job,
    MemberJobs,
    PrefsRepository,
)

EXPORT_LIMIT = 10 * 1024 * 1024 - 64 * 1024  # what one Discord upload carries
EXPORT_MAX_JOBS = 10_000
# The audit action of an erasure; it also revokes the member's web links made before it.
ERASED = "privacy_delete"


def build_export(jobs: list[Job], store: ImageStore, limit: int = EXPORT_LIMIT) -> bytes:
    """A zip of jobs.json and the images, newest first, as many as fit in `limit`.

    Blocking (file reads and compression): call it from a thread.
    """
    records = []
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        for job in jobs:
            files = []
            for image in job.images:
                name = f"images/job{job.id}_{image.index}.{image.format}"
                data = store.get(image.sha256, image.format)
                if out.tell() + len(data) + 64 * 1024 > limit:
                    files.append({"index": image.index, "omitted": "over the upload limit"})
                    continue
                archive.writestr(name, data)
                files.append({"index": image.index, "file": name, "seed": image.seed})
            records.append(
                {
                    "job": job.id,
                    "prompt": job.prompt,
                    "action": job.action,
                    "state": job.state,
                    "model": job.model,
                    "seeds": job.seeds,
                    "request": job.request,
                    "created_at": job.created_at.isoformat(),
                    "favourite": job.favourite,
                    "images": files,
                }
            )
        archive.writestr("jobs.json", json.dumps(records, indent=2))
    return out.getvalue()


@dataclass(frozen=True)
class Erasure:
    """What /privacy delete did: jobs hidden, and the open appeals withdrawn, each with the
    review channel whose card shows it (None: the server has none now)."""

    jobs: int
    withdrawn: list[tuple[Appeal, int | None]]


class Privacy:
    def __init__(
        self,
        jobs: MemberJobs,
        prefs: PrefsRepository,
        audit: AuditLog,
        appeals: AppealRepository,
        guilds: GuildRepository,
        store: ImageStore,
    ) -> None:
        self.jobs = jobs
        self.prefs = prefs
        self.audit = audit
        self.appeals = appeals
        self.guilds = guilds
        self.store = store

    async def export(self, user_id: int, limit: int = EXPORT_LIMIT) -> tuple[int, bytes]:
        """How many jobs the member has, and the zip of them (built off the event loop)."""
        jobs = list(await self.jobs.for_user(user_id, limit=EXPORT_MAX_JOBS))
        return len(jobs), await asyncio.to_thread(build_export, jobs, self.store, limit)

    async def erase(self, user_id: int, guild_id: int | None) -> Erasure:
        """Erase a member's data as the module says; audited."""
        erased = await self.jobs.erase_all(user_id)
        await self.prefs.forget(user_id)
        withdrawn = await self.appeals.erase(user_id)
        await self.audit.anonymise(user_id)
        await self.audit.record(guild_id, user_id, user_id, ERASED, "", {"jobs": erased})
        cards = [(a, await self.guilds.review_channel(a.guild_id)) for a in withdrawn]
        return Erasure(erased, cards)
