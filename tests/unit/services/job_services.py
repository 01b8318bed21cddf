"""The job-making services on one real database, for the tests of tests/unit/services."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from db import (
    AuditLog,
    BanRepository,
    GuildRepository,
    MemberJobs,
    PrefsRepository,
    StoredImage,
    TermRepository,
    WorkerJobs,
    make_engine,
    make_sessionmaker,
)
from inference.presets import PRESETS
from services.children import ChildJobs
from services.imagine import ImagineService
from services.intake import Intake
from services.job_controls import JobControls
from services.origin import Origin
from services.standing import StandingCheck


@dataclass
class JobServices:
    """The job-making services on one database, and the repositories they share."""

    intake: Intake
    imagine: ImagineService
    children: ChildJobs
    controls: JobControls
    jobs: MemberJobs
    worker: WorkerJobs
    bans: BanRepository
    audit: AuditLog
    prefs: PrefsRepository


async def job_services(migrated_database_url):
    """The services on a fresh database (an async generator: the conftest fixture)."""
    engine = make_engine(migrated_database_url)
    sessions = make_sessionmaker(engine)
    jobs, bans, audit = MemberJobs(sessions), BanRepository(sessions), AuditLog(sessions)
    prefs = PrefsRepository(sessions)
    intake = Intake(
        jobs,
        StandingCheck(bans, allow_dms=True),
        audit,
        prefs,
        GuildRepository(sessions),
        TermRepository(sessions),
        {"tiny": PRESETS["tiny"], "tiny-wide": replace(PRESETS["tiny"], name="tiny-wide")},
        max_queued_jobs=2,
    )
    yield JobServices(
        intake,
        ImagineService(intake, jobs),
        ChildJobs(intake, jobs),
        JobControls(jobs, audit, intake.presets),
        jobs,
        WorkerJobs(sessions),
        bans,
        audit,
        prefs,
    )
    await engine.dispose()


_ids = iter(range(10_000, 1_000_000))


def _origin(user: int = 1, moderator: bool = False) -> Origin:
    expires = datetime.now(UTC) + timedelta(minutes=15)
    return Origin(user, 10, 20, next(_ids), 99, "token", expires, moderator)


async def _finished(service: JobServices, user: int = 1):
    [job] = await service.imagine.imagine("a red fox --seed 42", _origin(user))
    claimed = await service.worker.claim_next("w")
    images = [StoredImage(i, f"{i:064x}", 64, 64, None if i == 0 else 41 + i) for i in range(5)]
    await service.worker.finish(claimed.id, images, [42, 43, 44, 45], 0.1)
    return job
