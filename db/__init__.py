"""Persistence: SQLAlchemy models, async sessions, repositories and the image store."""

from db.bans import BanRepository
from db.imagestore import PREVIEW_FORMAT, PROMPT_IMAGE_FORMAT, ImageStore
from db.jobs import JobRepository, NewJob, StoredImage
from db.models import (
    Appeal,
    AppealState,
    Job,
    JobImage,
    JobState,
)
from db.moderation import ModerationRepository
from db.prefs import Prefs, PrefsRepository
from db.schema import upgrade as upgrade_schema
from db.session import make_engine, make_sessionmaker

__all__ = [
    "PREVIEW_FORMAT",
    "PROMPT_IMAGE_FORMAT",
    "Appeal",
    "AppealState",
    "BanRepository",
    "ImageStore",
    "Job",
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
