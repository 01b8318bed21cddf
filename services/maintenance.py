"""Housekeeping of the image store: files of deleted jobs after their grace period, and the
latent previews that dead workers left behind."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from db import PREVIEW_FORMAT, DeliveryJobs, ImageStore, MemberJobs
from db.models import utcnow
from services.gallery import THUMB_FORMAT

log = logging.getLogger(__name__)

PURGE_INTERVAL_S = 3600
# A render's previews are deleted when it ends; older ones belong to a worker that died.
PREVIEW_MAX_AGE_S = 3600


class Maintenance:
    def __init__(
        self,
        jobs: MemberJobs,
        delivery_jobs: DeliveryJobs,
        store: ImageStore,
        delete_grace_hours: float,
    ) -> None:
        self.jobs = jobs
        self.delivery_jobs = delivery_jobs
        self.store = store
        self.grace = timedelta(hours=delete_grace_hours)

    async def run(self) -> None:
        """Purge hourly, for as long as the process runs."""
        while True:
            try:
                await self.purge_deleted(utcnow() - self.grace)
                await self.purge_previews(PREVIEW_MAX_AGE_S)
            except Exception:
                log.exception("purging deleted images failed; trying again later")
            await asyncio.sleep(PURGE_INTERVAL_S)

    async def purge_previews(self, older_than_s: float) -> int:
        """Preview files a render left behind (its worker died before deleting them); those
        running jobs show now stay."""
        shown = await self.delivery_jobs.running_previews()
        return await asyncio.to_thread(self.store.sweep, PREVIEW_FORMAT, older_than_s, shown)

    async def purge_deleted(self, deleted_before: datetime) -> int:
        """The files of jobs deleted before `deleted_before` that no other job uses."""
        files = await self.jobs.purge_deleted(deleted_before)
        for digest, fmt in files:
            await asyncio.to_thread(self.store.delete, digest, fmt)
            await asyncio.to_thread(self.store.delete, digest, THUMB_FORMAT)  # web thumbnail
        return len(files)
