"""Persistence: SQLAlchemy models, async sessions, repositories and the image store."""

from db.bans import BanRepository
from db.imagestore import ImageStore
from db.jobs import JobRepository, NewJob, StoredImage
from db.models import (
    OUTPAINT_ACTIONS,
    PAN_DIRECTIONS,
    UPSCALE_ACTIONS,
    Appeal,
    AppealState,
    Job,
    JobAction,
    JobImage,
    JobState,
)
from db.moderation import ModerationRepository
from db.prefs import Prefs, PrefsRepository
from db.schema import upgrade as upgrade_schema
from db.session import make_engine, make_sessionmaker

__all__ = [
    "OUTPAINT_ACTIONS",
    "PAN_DIRECTIONS",
    "UPSCALE_ACTIONS",
    "Appeal",
    "AppealState",
    "BanRepository",
    "ImageStore",
    "Job",
    "JobAction",
    "JobImage",
    "JobRepository",
    "JobState",
    "ModerationRepository",
    "NewJob",
    "Prefs",
    "PrefsRepository",
    "StoredImage",
    "make_engine",
    "make_sessionmaker",
    "upgrade_schema",
]
