"""The /mod tools without Discord: bans and time-outs, a member's standing and records, the
server's setup, its queue and its own terms. Every change is audited.

The caller has checked that the moderator is one (the bot does, on every command).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from db import (
    Appeal,
    AppealRepository,
    AuditLog,
    BanRepository,
    GuildRepository,
    Job,
    JobState,
    MemberJobs,
    TermRepository,
    TooManyTerms,
    within_deployment,
)
from db.models import AuditRecord, Ban, GuildTerm, utcnow
from services.errors import UserFacingError
from services.escalation import parse_duration
from services.job_controls import JobControls
from services.origin import Origin
from services.strikes import STRIKE

MAX_TERM_CHARS = 100
# A guild's own blocked and allowed terms: each check runs them, so a list is capped.
MAX_GUILD_TERMS = 500


@dataclass(frozen=True)
class Standing:
    strikes: int
    ban: Ban | None


@dataclass(frozen=True)
class Setup:
    """A guild's moderation setup as it is now."""

    review_channel_id: int | None
    allow_stealth: bool
    max_running: int
    max_queued: int


@dataclass(frozen=True)
class QueueState:
    was_paused: bool
    waiting: int
    running: int


def duration(text: str) -> timedelta:
    """`30m`, `1h`, `7d`, or a UserFacingError that shows the accepted form."""
    try:
        return parse_duration(text)
    except ValueError as error:
        raise UserFacingError(str(error).capitalize() + ".") from error


def collapse_term(term: str) -> str:
    """A term as terms are stored: lower case, single spaces."""
    return " ".join(term.lower().split())


def normalize_term(term: str) -> str:
    """A new term as stored, or a UserFacingError if it is empty or too long."""
    normalized = collapse_term(term)
    if not normalized or len(normalized) > MAX_TERM_CHARS:
        raise UserFacingError(f"A term must be 1-{MAX_TERM_CHARS} characters.")
    return normalized


class Moderators:
    def __init__(
        self,
        bans: BanRepository,
        audit: AuditLog,
        guilds: GuildRepository,
        terms: TermRepository,
        appeals: AppealRepository,
        jobs: MemberJobs,
        controls: JobControls,
        max_running_jobs: int,
        max_queued_jobs: int,
    ) -> None:
        self.bans = bans
        self.audit = audit
        self.guilds = guilds
        self.terms = terms
        self.appeals = appeals
        self.jobs = jobs
        self.controls = controls
        self.max_running_jobs = max_running_jobs
        self.max_queued_jobs = max_queued_jobs

    async def ban(
        self, guild_id: int, user_id: int, reason: str, moderator_id: int, length: str = ""
    ) -> tuple[bool, timedelta | None]:
        """Ban a member here, for `length` (`7d`) or until lifted; whether they were not
        banned already (a ban in force is replaced), and its length."""
        span = duration(length) if length else None
        until = utcnow() + span if span else None
        return await self.bans.ban(guild_id, user_id, reason, moderator_id, until), span

    async def unban(self, guild_id: int, user_id: int, moderator_id: int, reason: str) -> bool:
        return await self.bans.unban(guild_id, user_id, moderator_id, reason)

    async def timeout(
        self, guild_id: int, user_id: int, length: str, reason: str, moderator_id: int
    ) -> timedelta:
        span = duration(length)
        await self.bans.ban(guild_id, user_id, reason, moderator_id, utcnow() + span)
        return span

    async def standing(self, guild_id: int, user_id: int) -> Standing:
        """A member's strikes here and the ban in force, if any."""
        strikes = await self.audit.count(guild_id, user_id, STRIKE)
        return Standing(strikes, await self.bans.active_ban(guild_id, user_id))

    async def job_records(self, guild_id: int, job_id: int) -> tuple[Job, list[AuditRecord]]:
        job = await self.guild_job(guild_id, job_id)
        return job, await self.audit.for_job(guild_id, job_id)

    async def member_records(self, guild_id: int, user_id: int) -> list[AuditRecord]:
        return await self.audit.for_member(guild_id, user_id)

    async def guild_job(self, guild_id: int, job_id: int) -> Job:
        """A job made on this server (moderators of one server never reach another's)."""
        job = await self.jobs.get(job_id)
        if job is None or job.guild_id != guild_id:
            raise UserFacingError(f"There is no job {job_id} on this server.")
        return job

    async def open_appeals(self, guild_id: int) -> Sequence[Appeal]:
        return await self.appeals.waiting(guild_id)

    async def set_up(
        self,
        guild_id: int,
        moderator_id: int,
        review_channel_id: int | None = None,
        allow_stealth: bool | None = None,
        max_running: int | None = None,
        max_queued: int | None = None,
    ) -> Setup:
        """Change what is given (a limit of 0: back to the deployment's); the setup now."""
        changed: dict[str, Any] = {}
        if review_channel_id is not None:
            await self.guilds.set_review_channel(guild_id, review_channel_id)
            changed["review_channel"] = review_channel_id
        if allow_stealth is not None:
            await self.guilds.set_allow_stealth(guild_id, allow_stealth)
            changed["allow_stealth"] = allow_stealth
        limits = {
            name: value or None
            for name, value in (("max_running_jobs", max_running), ("max_queued_jobs", max_queued))
            if value is not None
        }
        if limits:
            await self.guilds.set_job_limits(guild_id, **limits)
            changed.update(limits)
        if changed:
            await self.audit.record(guild_id, moderator_id, None, "setup", "", changed)
        return await self.setup(guild_id)

    async def setup(self, guild_id: int) -> Setup:
        rules = await self.guilds.rules(guild_id)
        return Setup(
            await self.guilds.review_channel(guild_id),
            rules.allow_stealth,
            within_deployment(rules.max_running_jobs, self.max_running_jobs),
            within_deployment(rules.max_queued_jobs, self.max_queued_jobs),
        )

    async def set_paused(
        self, guild_id: int, moderator_id: int, paused: bool, reason: str
    ) -> QueueState:
        """Hold (or release) every waiting job of this guild; what the queue held before."""
        was = await self.guilds.queue_paused(guild_id)
        # Counted first: once resumed, workers start the waiting jobs at once.
        counts = await self.jobs.active_counts(guild_id=guild_id)
        if was != paused:
            await self.guilds.set_queue_paused(guild_id, paused)
            action = "queue_paused" if paused else "queue_resumed"
            await self.audit.record(guild_id, moderator_id, None, action, reason)
        return QueueState(was, counts.get(JobState.QUEUED, 0), counts.get(JobState.RUNNING, 0))

    async def cancel_job(self, guild_id: int, job_id: int, origin: Origin, reason: str) -> Job:
        """Stop any member's waiting or running job made on this server."""
        job = await self.guild_job(guild_id, job_id)
        await self.controls.cancel(job_id, origin, reason)
        return job

    async def add_term(
        self, guild_id: int, term: str, category: str, moderator_id: int
    ) -> tuple[str, bool]:
        """Block `term` in `category` here (category "allow": allow it); the term as
        stored, and False if it was listed already."""
        normalized = normalize_term(term)
        try:
            added = await self.terms.add(
                guild_id, normalized, category, moderator_id, MAX_GUILD_TERMS
            )
        except TooManyTerms as full:
            raise UserFacingError(
                f"This server already lists {full.limit} terms, the most it can have. "
                "Remove some with `/mod terms remove` (see `/mod terms list`) first."
            ) from None
        await self.audit.record(guild_id, moderator_id, None, f"term_{category}", normalized)
        return normalized, added

    async def remove_term(self, guild_id: int, term: str, moderator_id: int) -> tuple[str, bool]:
        """Unlist a term of this guild's; the term as stored, and whether it was listed."""
        normalized = collapse_term(term)
        removed = await self.terms.remove(guild_id, normalized)
        await self.audit.record(guild_id, moderator_id, None, "term_removed", normalized)
        return normalized, bool(removed)

    async def guild_terms(self, guild_id: int) -> Sequence[GuildTerm]:
        return await self.terms.for_guild(guild_id)
