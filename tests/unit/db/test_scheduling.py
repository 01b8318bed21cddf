"""The claim against db.fairshare, the rule it applies in SQL: on any queue, the job the claim
starts is the one the rule puts first."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import timedelta

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, update

from db import JobState
from db.fairshare import Candidate, effective_lane, queue_order
from db.guilds import within_deployment
from db.jobs import FAIRSHARE_WINDOW
from db.models import GuildSettings, Job, JobImage, today_start, utcnow
from testing.jobs import job_tables
from tests.unit.db.test_jobs import _new

# A queue as members leave it: each queued job (member, lane, minutes since it was asked
# for), members' running jobs, finished jobs (member, GPU seconds, minutes ago, lane), the
# limits in force and whether guild 21's queue is paused. Up to 15 members, so that there
# are often more candidates than a claim ranks (CLAIM_TRIES); each member is in one of two
# guilds or writes in direct messages.
_GUILDS = (20, 21, None)
_member = st.integers(1, 15)
_lane = st.sampled_from([None, "fast", "relax"])
_queues = st.fixed_dictionaries(
    {
        "queued": st.lists(
            st.tuples(_member, _lane, st.sampled_from([0, 1, 5])), min_size=1, max_size=30
        ),
        "running": st.lists(_member, max_size=6),
        "finished": st.lists(
            st.tuples(_member, st.integers(1, 90), st.sampled_from([2, 30, 59, 61, 600]), _lane),
            max_size=10,
        ),
        "max_running": st.integers(1, 3),
        "caps": st.fixed_dictionaries({20: st.none() | st.integers(0, 3), 21: st.none()}),
        "paused": st.booleans(),
        "allowance": st.none() | st.sampled_from([5.0, 60.0]),
    }
)


def _guild(member: int) -> int | None:
    return _GUILDS[member % len(_GUILDS)]


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(queue=_queues)
@example(  # the fairest (nothing running, more GPU time) is not among the 8 least used
    queue={
        "queued": [(member, None, 0) for member in range(1, 11)],
        "running": list(range(2, 11)),
        "finished": [(1, 90, 2, None)],
        "max_running": 3,
        "caps": {20: None, 21: None},
        "paused": False,
        "allowance": None,
    }
)
async def test_the_claim_starts_the_job_db_fairshare_puts_first(sessions, queue):
    """The claim orders candidates in SQL; db.fairshare is the rule it must follow, claim
    after claim."""
    async with sessions() as session, session.begin():
        for table in (JobImage, Job, GuildSettings):
            await session.execute(delete(table))
        session.add(GuildSettings(guild_id=20, max_running_jobs=queue["caps"][20]))
        session.add(GuildSettings(guild_id=21, queue_paused=queue["paused"]))
    repo = job_tables(sessions, queue["max_running"], queue["allowance"])
    keys = itertools.count()
    now = utcnow()

    async def create(user: int, **values: object) -> Job:
        job, _ = await repo.member.create(
            _new(user=user, interaction=next(keys), guild_id=_guild(user))
        )
        if values:
            await _set(sessions, job.id, **values)
        return job

    finished = []
    for user, seconds, minutes_ago, lane in queue["finished"]:
        ended = now - timedelta(minutes=minutes_ago)
        await create(user, state=JobState.DONE, gpu_seconds=float(seconds), finished_at=ended,
                     lane=lane)  # fmt: skip
        finished.append((user, seconds, ended, lane))
    for user in queue["running"]:
        await create(user, state=JobState.RUNNING)
    queued = {}
    for user, lane, minutes_ago in queue["queued"]:
        asked = now - timedelta(minutes=minutes_ago)  # not always in the order of ids
        job = await create(user, lane=lane, created_at=asked)
        queued[job.id] = (user, lane, asked)

    since, today = utcnow() - FAIRSHARE_WINDOW, today_start()
    usage, fast = Counter[int](), Counter[int]()
    for user, seconds, ended, lane in finished:
        usage[user] += seconds if ended >= since else 0
        fast[user] += seconds if ended >= today and lane != "relax" else 0
    running = Counter(queue["running"])
    for _ in range(3):
        heads: dict[int, int] = {}  # member: their oldest startable job (one guild each)
        for job_id, (user, _, _) in sorted(queued.items()):
            if not (queue["paused"] and _guild(user) == 21):
                heads.setdefault(user, job_id)
        startable = [
            Candidate(job_id, user, queued[job_id][2],
                      effective_lane(queued[job_id][1], fast[user], queue["allowance"]))
            for user, job_id in heads.items()
            if running[user] < within_deployment(queue["caps"].get(_guild(user)),
                                                 queue["max_running"])
        ]  # fmt: skip
        expected = queue_order(startable, usage, running)[:1]
        claimed = await repo.worker.claim_next("w")
        assert ([claimed.id] if claimed else []) == expected
        if claimed is None:
            break
        assert claimed.lane == next(c.lane for c in startable if c.job_id == claimed.id)
        running[claimed.user_id] += 1
        del queued[claimed.id]


async def _set(sessions, job_id: int, **values: object) -> None:
    async with sessions() as session, session.begin():
        await session.execute(update(Job).where(Job.id == job_id).values(**values))
