"""Abuse-proof limits: per-member queue limits hold under concurrency (the check and the
insert are one atomic step on SQLite and PostgreSQL, for /imagine and for buttons alike),
and a ban holds on every path to a server's jobs."""

from __future__ import annotations

import asyncio

from db import JobState
from services.errors import QueueFull
from tests.unit.services.job_services import _finished, _origin


async def _outcomes(calls):
    results = await asyncio.gather(*calls, return_exceptions=True)
    unexpected = [r for r in results if isinstance(r, Exception) and not isinstance(r, QueueFull)]
    assert not unexpected, unexpected
    return results


async def _waiting(service, user=1):
    counts = await service.jobs.active_counts(user)
    return counts.get(JobState.QUEUED, 0) + counts.get(JobState.HELD, 0)


async def test_concurrent_imagines_from_one_member_never_pass_the_limit(service):
    limit = service.intake.max_queued_jobs  # 2 in these services
    results = await _outcomes(
        [service.imagine.imagine(f"a fox number {n}", _origin()) for n in range(20)]
    )
    assert sum(isinstance(r, list) for r in results) == limit
    assert await _waiting(service) == limit
    # Another member is not held back by the first one's full queue.
    assert await service.imagine.imagine("an owl", _origin(user=2))


async def test_concurrent_button_clicks_never_pass_the_limit(service):
    parent = await _finished(service)  # the one waiting job was claimed and finished
    results = await _outcomes(
        [service.children.child("v", 1 + n % 4, parent.id, _origin()) for n in range(12)]
    )
    made = [r for r in results if not isinstance(r, Exception)]
    assert len(made) == service.intake.max_queued_jobs
    assert await _waiting(service) == service.intake.max_queued_jobs


async def test_rows_already_made_come_back_at_the_limit_and_new_ones_are_refused(service):
    from dataclasses import replace

    import pytest

    from db import QueueLimitReached
    from inference.operations import JobAction
    from inference.prompt import parse
    from services.intake import Placement, record

    origin = _origin()

    def new(n):
        return record(origin, n, "a fox", parse("a fox"), JobAction.IMAGINE, 1,
                      Placement("tiny", False))  # fmt: skip

    made = await service.jobs.create_many([new(0), new(1)], waiting_limit=2)
    again = await service.jobs.create_many([new(0)], waiting_limit=2)  # a retry
    assert (again[0][0].id, again[0][1]) == (made[0][0].id, False)
    with pytest.raises(QueueLimitReached) as full:
        await service.jobs.create_many([replace(new(2), idempotency_key="other")], waiting_limit=2)
    assert (full.value.waiting, full.value.limit) == (2, 2)
    assert await _waiting(service) == 2


def _in_dm(user: int = 1):
    from dataclasses import replace

    return replace(_origin(user), guild_id=None, channel_id=77)


async def test_a_server_ban_holds_on_the_servers_jobs_from_a_dm_and_through_show(service):
    import pytest

    from services.errors import UserBanned
    from services.history import History

    parent = await _finished(service)  # made in server 20
    await service.bans.ban(20, 1, "spam", moderator_id=5)
    with pytest.raises(UserBanned):  # a button pressed on the result, from a DM
        await service.children.child("v", 1, parent.id, _in_dm())
    with pytest.raises(UserBanned):  # and a remix there
        await service.children.child("v", 1, parent.id, _in_dm(), remix_prompt="a red owl")
    history = History(service.jobs, service.prefs, service.bans, None)
    with pytest.raises(UserBanned):  # /show in a DM would post it with working buttons
        await history.owned_job(parent.id, 1, None)
    assert len(await service.jobs.for_user(1)) == 1  # nothing was made


async def test_an_unanswered_confirmation_expires_and_frees_the_queue(service):
    from datetime import timedelta

    import pytest

    from services.errors import JobUnavailable

    held = await service.imagine.imagine("a {red, blue, green, grey, gold, pink} fox", _origin())
    assert len(held) == 6 and all(job.state == JobState.HELD for job in held)
    with pytest.raises(QueueFull):
        await service.imagine.imagine("an owl", _origin())
    service.intake.held_for = timedelta(0)  # the hold (10 minutes by default) runs out
    [owl] = await service.imagine.imagine("an owl", _origin())
    assert owl.state == JobState.QUEUED
    assert {(await service.jobs.get(job.id)).state for job in held} == {JobState.CANCELLED}
    with pytest.raises(JobUnavailable, match="waits 0 minutes for its Yes"):
        await service.imagine.confirm(held[0].id, _origin(), start=True)
