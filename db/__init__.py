"""Persistence: SQLAlchemy models, async sessions, repositories and the image store."""

from db.appeals import AppealRepository
from db.audit import AuditLog
from db.bans import BanRepository
from db.guilds import GuildRepository, GuildRules, within_deployment
from db.imagestore import PREVIEW_FORMAT, PROMPT_IMAGE_FORMAT, ImageStore
from db.jobs import (
    PAUSED,
    DeliveryJobs,
    GalleryFilter,
    GalleryJobs,
    JobStats,
    MemberJobs,
    NewJob,
    QueueLimitReached,
    StoredImage,
    WorkerJobs,
)
from db.models import (
    Appeal,
    AppealState,
    Job,
    JobImage,
    JobState,
)
from db.prefs import Prefs, PrefsRepository, TooManyOptions
from db.schema import upgrade as upgrade_schema
from db.session import make_engine, make_sessionmaker
from db.terms import TermRepository, TooManyTerms
from db.workers import WorkerRegistry

__all__ = [
    "PAUSED",
    "PREVIEW_FORMAT",
    "PROMPT_IMAGE_FORMAT",
    "Appeal",
    "AppealRepository",
    "AppealState",
    "AuditLog",
    "BanRepository",
    "DeliveryJobs",
    "GalleryFilter",
    "GalleryJobs",
    "GuildRepository",
    "GuildRules",
    "ImageStore",
    "Job",
    "JobImage",
    "JobState",
    "JobStats",
    "MemberJobs",
    "NewJob",
    "Prefs",
    "PrefsRepository",
    "QueueLimitReached",
    "StoredImage",
    "TermRepository",
    "TooManyOptions",
    "TooManyTerms",
    "WorkerJobs",
    "WorkerRegistry",
    "make_engine",
    "make_sessionmaker",
    "upgrade_schema",
    "within_deployment",
]
