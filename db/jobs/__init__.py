"""The jobs table, split by who asks: the bot for members' jobs (members), the bot's delivery
(delivery), the workers (rendering); the scheduler's SQL beside them (scheduling)."""

from db.jobs.common import ACTIVE_STATES, ENDED_STATES, NewJob, QueueLimitReached, StoredImage
from db.jobs.delivery import DeliveryJobs
from db.jobs.gallery import GalleryFilter, GalleryJobs
from db.jobs.members import MemberJobs
from db.jobs.rendering import WorkerJobs
from db.jobs.scheduling import FAIRSHARE_WINDOW, PAUSED
from db.jobs.stats import JobStats, ServerUsage

__all__ = [
    "ACTIVE_STATES",
    "ENDED_STATES",
    "FAIRSHARE_WINDOW",
    "PAUSED",
    "DeliveryJobs",
    "GalleryFilter",
    "GalleryJobs",
    "JobStats",
    "MemberJobs",
    "NewJob",
    "QueueLimitReached",
    "ServerUsage",
    "StoredImage",
    "WorkerJobs",
]
