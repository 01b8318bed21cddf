from __future__ import annotations

from db import BanRepository


async def test_ban_applies_in_its_guild_only_and_is_audited(sessions):
    bans = BanRepository(sessions)
    assert await bans.ban(1, 42, "spam", moderator_id=7) is True
    assert (await bans.active_ban(1, 42)).reason == "spam"
    assert await bans.active_ban(2, 42) is None
    assert await bans.unban(1, 42, moderator_id=7) is True
    assert await bans.active_ban(1, 42) is None
    assert await bans.unban(1, 42, moderator_id=7) is False
    assert [r.action for r in await bans.audit_for(1, 42)] == ["ban", "unban", "unban"]


async def test_global_ban_applies_everywhere_including_dms(sessions):
    bans = BanRepository(sessions)
    await bans.ban(0, 42, "abuse", moderator_id=7)
    assert await bans.active_ban(5, 42) is not None
    assert await bans.active_ban(None, 42) is not None
