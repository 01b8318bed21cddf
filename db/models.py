"""SQLAlchemy 2 table models: jobs, their images, bans and the moderation audit log."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


def today_start() -> datetime:
    """Midnight UTC today: where "today" starts for usage and the fast allowance."""
    return utcnow().replace(hour=0, minute=0, second=0, microsecond=0)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on every backend (SQLite stores no offset and returns naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class JobState(enum.StrEnum):
    HELD = "held"  # part of a large batch the user has not confirmed yet
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Job(Base):
    """One render and the Discord message that shows it. The source of truth for the queue."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_state_created", "state", "created_at"),
        Index("ix_jobs_user_created", "user_id", "created_at"),
        # A user's standing in the fair-share queue: recent GPU time and running jobs.
        Index("ix_jobs_user_finished", "user_id", "finished_at"),
        Index("ix_jobs_user_state", "user_id", "state"),
        # /history pages and counts: an index-only scan on PostgreSQL (benchmarks/bench_db.py).
        Index(
            "ix_jobs_listing",
            "user_id",
            "created_at",
            "id",
            postgresql_where=text("deleted_at IS NULL"),
            sqlite_where=text("deleted_at IS NULL"),
            postgresql_include=["stealth", "state", "favourite"],
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # Idempotency: `<interaction id>:<n>` for the n-th job an interaction asked for, so a
    # retried interaction finds its rows instead of queueing them again.
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    interaction_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    user_id: Mapped[int] = mapped_column(BigInteger)
    guild_id: Mapped[int | None] = mapped_column(BigInteger)
    channel_id: Mapped[int] = mapped_column(BigInteger)
    # The job's kind (inference.operations.JobAction: what the worker renders).
    action: Mapped[str] = mapped_column(String(24), default="imagine")
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"))
    parent_index: Mapped[int | None] = mapped_column(Integer)
    # Zoom Out / Custom Zoom: how far the camera pulls back (1.0-2.0); None for other actions.
    zoom: Mapped[float | None] = mapped_column()
    prompt: Mapped[str] = mapped_column(Text)
    request: Mapped[dict[str, Any]] = mapped_column(JSON)
    model: Mapped[str] = mapped_column(String(64))
    seed: Mapped[int | None] = mapped_column(BigInteger)
    seeds: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # The request's image prompts as stored files (SHA-256 of the PNG, one per URL in order),
    # downloaded once by the bot; the worker renders from these, never from the URLs.
    prompt_images: Mapped[list[str]] = mapped_column(
        JSON, default=list, server_default=text("'[]'")
    )
    # What a job that answers in text found (/describe, /shorten): {"prompts": [...], and
    # /shorten's "important": [...]}; None for the jobs that make images.
    answer: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16), default=JobState.QUEUED)
    lane: Mapped[str | None] = mapped_column(String(8))
    # -1 until a worker starts it, so a queued job needs no message edit.
    progress: Mapped[int] = mapped_column(Integer, default=-1)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    worker_id: Mapped[str | None] = mapped_column(String(64))
    # The worker's lease: renewed while it renders; a lapsed lease means the worker died.
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    gpu_seconds: Mapped[float] = mapped_column(default=0.0)
    # Where the job is shown: the interaction's webhook (15 minutes) and, once known, the
    # message id, which the bot token can still edit after the token expires.
    application_id: Mapped[int | None] = mapped_column(BigInteger)
    interaction_token: Mapped[str | None] = mapped_column(Text)
    token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    result_message_id: Mapped[int | None] = mapped_column(BigInteger)
    shown_progress: Mapped[int] = mapped_column(Integer, default=-1)
    # The newest low-resolution preview of a running render (a JPEG in the image store),
    # written with its progress. Its file is deleted when the render ends; the column stays
    # set, so the bot knows the message carried a preview to take off.
    preview_sha256: Mapped[str | None] = mapped_column(String(64))
    # The place in the queue the waiting message shows ("#3 in queue"), once shown.
    shown_place: Mapped[int | None] = mapped_column(Integer)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Why the result could not be posted (Discord answered 403/404 for its channel): final.
    delivery_error: Mapped[str | None] = mapped_column(Text)
    favourite: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Stealth (the owner's setting when the job was made): never listed to anyone else.
    stealth: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Deleted by its owner: hidden everywhere at once; its files go after a grace period.
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    images: Mapped[list[JobImage]] = relationship(
        back_populates="job", order_by="JobImage.index", lazy="selectin"
    )


class JobImage(Base):
    """A file a job produced: index 0 is the grid, 1-4 the single images (or 1 for an upscale)."""

    __tablename__ = "job_images"
    __table_args__ = (UniqueConstraint("job_id", "index"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    index: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    format: Mapped[str] = mapped_column(String(8), default="png")
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    seed: Mapped[int | None] = mapped_column(BigInteger)

    job: Mapped[Job] = relationship(back_populates="images")


class Ban(Base):
    """A user who may not generate in a guild (guild_id 0 means everywhere)."""

    __tablename__ = "bans"
    __table_args__ = (UniqueConstraint("guild_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    guild_id: Mapped[int] = mapped_column(BigInteger)
    user_id: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(Text)
    moderator_id: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # None: until lifted. A time-out is a ban that ends by itself.
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AuditRecord(Base):
    """Every moderation decision, automatic or human; never deleted with a user's data."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_target", "guild_id", "target_user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    guild_id: Mapped[int | None] = mapped_column(BigInteger)
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    target_user_id: Mapped[int | None] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class UserPrefs(Base):
    """A member's prompt defaults (/settings values, /prefer suffix and /prefer options) and
    the /settings choices that are not prompt flags: model preset, remix, stealth."""

    __tablename__ = "user_prefs"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    suffix: Mapped[str] = mapped_column(Text, default="")
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    model: Mapped[str | None] = mapped_column(String(64))
    remix: Mapped[bool] = mapped_column(default=False, server_default=false())
    stealth: Mapped[bool] = mapped_column(default=False, server_default=false())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class GuildSettings(Base):
    """Per-guild configuration: moderation, and which member settings apply here."""

    __tablename__ = "guild_settings"

    guild_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    review_channel_id: Mapped[int | None] = mapped_column(BigInteger)
    # Off: members' stealth setting does not apply here; every job made here is public.
    allow_stealth: Mapped[bool] = mapped_column(default=True, server_default=true())
    # Moderators paused the queue here: jobs wait (none start) until it is resumed.
    queue_paused: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Per-member limits here (None: the deployment's IMAGINEBOT_MAX_*_JOBS).
    max_running_jobs: Mapped[int | None] = mapped_column(Integer)
    max_queued_jobs: Mapped[int | None] = mapped_column(Integer)


class GuildTerm(Base):
    """A moderator-managed term: blocked in a category, or allowed (category "allow")."""

    __tablename__ = "guild_terms"
    __table_args__ = (UniqueConstraint("guild_id", "term", "category"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    guild_id: Mapped[int] = mapped_column(BigInteger)
    term: Mapped[str] = mapped_column(String(100))
    category: Mapped[str] = mapped_column(String(32))
    added_by: Mapped[int] = mapped_column(BigInteger)


class AppealState(enum.StrEnum):
    OPEN = "open"
    APPROVED = "approved"
    UPHELD = "upheld"
    BANNED = "banned"
    WITHDRAWN = "withdrawn"  # its author erased their data (/privacy delete)


class Appeal(Base):
    """A user's request that a moderator review a blocked prompt."""

    __tablename__ = "appeals"
    __table_args__ = (Index("ix_appeals_user_created", "user_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("audit_log.id"), unique=True)
    guild_id: Mapped[int | None] = mapped_column(BigInteger)
    channel_id: Mapped[int] = mapped_column(BigInteger)
    user_id: Mapped[int] = mapped_column(BigInteger)
    prompt: Mapped[str] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String(32))
    matched: Mapped[list[Any]] = mapped_column(JSON, default=list)
    state: Mapped[str] = mapped_column(String(16), default=AppealState.OPEN)
    review_message_id: Mapped[int | None] = mapped_column(BigInteger)
    decided_by: Mapped[int | None] = mapped_column(BigInteger)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class WorkerRow(Base):
    """A running worker and the model presets it serves, seen at its last heartbeat."""

    __tablename__ = "workers"

    worker_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    models: Mapped[list[Any]] = mapped_column(JSON, default=list)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
