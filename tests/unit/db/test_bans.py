from __future__ import annotations

from db import AuditLog, BanRepository


async def test_ban_applies_in_its_guild_only_and_is_audited(sessions):
    bans = BanRepository(sessions)
    assert await bans.ban(1, 42, "spam", moderator_id=7) is True
    assert (await bans.active_ban(1, 42)).reason == "spam"
    assert await bans.active_ban(2, 42) is None
    assert await bans.unban(1, 42, moderator_id=7) is True
    assert await bans.active_ban(1, 42) is None
    assert await bans.unban(1, 42, moderator_id=7) is False
    assert [r.action for r in await AuditLog(sessions).for_member(1, 42)] == [
        "ban",
        "unban",
        "unban",
    ]


async def test_global_ban_applies_everywhere_including_dms(sessions):
    bans = BanRepository(sessions)
    await bans.ban(0, 42, "abuse", moderator_id=7)
    assert await bans.active_ban(5, 42) is not None
    assert await bans.active_ban(None, 42) is not None


async def test_a_time_out_ends_by_itself_and_a_new_ban_replaces_it(sessions):
    from datetime import timedelta

    from db.models import utcnow

    bans = BanRepository(sessions)
    assert await bans.ban(1, 42, "cool off", 7, expires_at=utcnow() + timedelta(hours=1))
    assert (await bans.active_ban(1, 42)).expires_at is not None
    await bans.ban(1, 43, "was", 7, expires_at=utcnow() - timedelta(seconds=1))
    assert await bans.active_ban(1, 43) is None  # expired
    assert await bans.ban(1, 43, "again", 7) is True  # the expired one did not count
    assert (await bans.active_ban(1, 43)).reason == "again"
    actions = [r.action for r in await AuditLog(sessions).for_member(1, 43)]
    assert actions == ["timeout", "ban"]


async def test_records_are_counted_and_read_back(sessions):
    audit = AuditLog(sessions)
    first = await audit.record(1, 7, 42, "strike", "upheld", {"appeal": 1})
    await audit.record(1, 7, 42, "strike", "upheld")
    assert await audit.count(1, 42, "strike") == 2
    assert (await audit.get(first)).details == {"appeal": 1}
