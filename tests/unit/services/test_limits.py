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
    history = History(service.jobs, service.prefs, service.intake.standing, None)
    with pytest.raises(UserBanned):  # /show in a DM would post it with working buttons
        await history.owned_job(parent.id, 1, None)
    assert len(await service.jobs.for_user(1)) == 1  # nothing was made


async def test_with_dms_off_no_path_works_from_a_dm(service):
    import pytest

    from services.errors import DirectMessagesOff
    from services.history import History
    from services.standing import StandingCheck

    parent = await _finished(service)  # made in a server, while DMs were allowed
    service.intake.standing = StandingCheck(service.bans, allow_dms=False)
    with pytest.raises(DirectMessagesOff):
        await service.imagine.imagine("a fox", _in_dm())
    with pytest.raises(DirectMessagesOff):  # a button on a result /show posted in a DM
        await service.children.child("v", 1, parent.id, _in_dm())
    with pytest.raises(DirectMessagesOff):
        await service.children.child("v", 1, parent.id, _in_dm(), remix_prompt="a red owl")
    history = History(service.jobs, service.prefs, service.intake.standing, None)
    with pytest.raises(DirectMessagesOff):
        await history.owned_job(parent.id, 1, None)
    assert len(await service.jobs.for_user(1)) == 1
    await history.owned_job(parent.id, 1, 20)  # in a server it still works


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


async def test_a_moderator_acts_only_on_their_own_servers_jobs(service):
    from dataclasses import replace

    import pytest

    from services.errors import NotYourJob

    parent = await _finished(service)  # made in server 20 by member 1
    [waiting] = await service.imagine.imagine("an owl", _origin())
    other_server = replace(_origin(user=3, moderator=True), guild_id=21)
    with pytest.raises(NotYourJob):
        await service.controls.cancel(waiting.id, other_server)
    with pytest.raises(NotYourJob):
        await service.controls.delete(parent.id, other_server)
    with pytest.raises(NotYourJob):
        await service.children.child("v", 1, parent.id, other_server)
    in_a_dm = replace(_origin(user=3, moderator=True), guild_id=None)
    with pytest.raises(NotYourJob):
        await service.controls.cancel(waiting.id, in_a_dm)
    assert (await service.jobs.get(waiting.id)).state == JobState.QUEUED
    # A moderator of server 20 may.
    await service.controls.cancel(waiting.id, _origin(user=3, moderator=True))
    assert (await service.jobs.get(waiting.id)).state == JobState.CANCELLED


async def test_another_members_history_shows_only_jobs_of_the_server_asked_in(service):
    import pytest

    from services.errors import UserFacingError
    from services.history import History

    parent = await _finished(service)  # public, made in server 20
    history = History(service.jobs, service.prefs, service.intake.standing, None)
    seen_here = await history.page(2, 0, False, owner_id=1, guild_id=20)
    assert [job.id for job in seen_here.jobs] == [parent.id]
    assert (await history.page(2, 0, False, owner_id=1, guild_id=21)).jobs == []
    with pytest.raises(UserFacingError, match="in a server"):
        await history.page(2, 0, False, owner_id=1, guild_id=None)
    assert [job.id for job in (await history.page(1, 0, False, guild_id=21)).jobs] == [parent.id]


async def test_prefer_options_are_capped_in_number_and_size_even_when_saved_at_once(service):
    import pytest

    from db import GuildRepository
    from services.errors import InvalidParameter, UserFacingError
    from services.preferences import MAX_OPTIONS, Preferences

    guilds = GuildRepository(service.jobs.sessions)
    preferences = Preferences(service.prefs, guilds, service.intake.presets)
    saves = [preferences.save_option(1, f"opt{n}", f"--s {n}") for n in range(MAX_OPTIONS + 15)]
    results = await asyncio.gather(*saves, return_exceptions=True)
    refused = [r for r in results if isinstance(r, Exception)]
    assert all(isinstance(r, UserFacingError) and "25 saved options" in str(r) for r in refused)
    assert len(await preferences.options(1)) == MAX_OPTIONS == len(results) - len(refused)
    kept = next(iter(await preferences.options(1)))
    await preferences.save_option(1, kept, "--s 900")  # changing one is not adding one
    with pytest.raises(InvalidParameter, match="characters long; the limit is 400"):
        await preferences.save_option(2, "long", "--s 100 " * 60)
    with pytest.raises(InvalidParameter, match="characters long"):
        await preferences.set_suffix(2, "--ar 1:1 " * 60)


async def test_a_servers_term_list_is_capped_and_its_terms_act_through_one_matcher(service):
    import pytest

    from db import AppealRepository, GuildRepository, TermRepository
    from moderation.check import RULES_CACHED, rules
    from services import moderators as mod
    from services.errors import UserFacingError
    from services.policy import guild_policy, moderate_prompt

    sessions = service.jobs.sessions
    terms = TermRepository(sessions)
    moderators = mod.Moderators(
        service.bans,
        service.audit,
        GuildRepository(sessions),
        terms,
        AppealRepository(sessions),
        service.jobs,
        service.controls,
        max_running_jobs=1,
        max_queued_jobs=2,
    )
    for n in range(mod.MAX_GUILD_TERMS - 1):
        await terms.add(20, f"~zorbl{n:04d}x", "hate", 3, mod.MAX_GUILD_TERMS)
    await moderators.add_term(20, "~quaxnorbit", "sexual", 3)
    with pytest.raises(UserFacingError, match=f"already lists {mod.MAX_GUILD_TERMS} terms"):
        await moderators.add_term(20, "one more", "hate", 3)
    assert len(await terms.for_guild(20)) == mod.MAX_GUILD_TERMS
    await moderators.add_term(21, "one more", "hate", 3)  # each server has its own cap
    policy = await guild_policy(terms, 20)
    assert moderate_prompt("a quaxnorbt in space", policy).category == "sexual"  # one typo
    assert moderate_prompt("a zorbl0123x", policy).category == "hate"
    assert moderate_prompt("a quiet orbit in space", policy).allowed
    assert rules.cache_info().maxsize == RULES_CACHED


async def test_repeated_blocked_prompts_become_strikes_that_escalate(service):
    from datetime import timedelta

    import pytest

    from services.errors import BannedPrompt, UserBanned
    from services.escalation import parse_ladder
    from services.strikes import BlockStrikes

    service.intake.strikes = BlockStrikes(
        service.audit, service.bans, parse_ladder("warning,1h"), 3, timedelta(hours=1)
    )
    strikes = []
    for _ in range(6):
        with pytest.raises(BannedPrompt) as blocked:
            await service.imagine.imagine("a nude woman", _origin())
        strikes.append(blocked.value.strike)
    assert [s is not None for s in strikes] == [False, False, True, False, False, True]
    first, second = strikes[2], strikes[5]
    assert (first.strikes, first.penalty.kind) == (1, "warning")
    assert (second.strikes, second.penalty.kind) == (2, "timeout")
    assert blocked.value.hint.startswith(
        "You had 6 prompts blocked within 1 h: this is strike 2, which means a time-out of"
    )
    with pytest.raises(UserBanned):  # the time-out holds at once
        await service.imagine.imagine("an owl", _origin())
    assert await service.audit.count(20, 1, "strike") == 2
    await service.imagine.imagine("an owl", _origin(user=2))  # others are untouched
