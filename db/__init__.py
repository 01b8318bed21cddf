"""Persistence: SQLAlchemy models, async sessions, repositories and the image store."""

from db.bans import BanRepository
from db.imagestore import ImageStore
from db.jobs import JobRepository, NewJob, StoredImage
from db.models import Job, JobAction, JobImage, JobState
from db.prefs import Prefs, PrefsRepository
from db.schema import upgrade as upgrade_schema
from db.session import make_engine, make_sessionmaker

__all__ = [
    "BanRepository",
    "ImageStore",
    "Job",
    "JobAction",
    "JobImage",
    "JobRepository",
    "JobState",
    "NewJob",
    "Prefs",
    "PrefsRepository",
    "StoredImage",
    "make_engine",
    "make_sessionmaker",
    "upgrade_schema",
]
