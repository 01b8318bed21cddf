"""A member's standing, checked the same way on every path that makes a job or shows a result:
banned (or timed out) where they ask, in the server that owns the job, or everywhere."""

from __future__ import annotations

from db import BanRepository
from services.errors import UserBanned


async def refuse_if_banned(bans: BanRepository, user_id: int, *guild_ids: int | None) -> None:
    """UserBanned if a ban in any of `guild_ids` (None: a DM, where only a ban everywhere
    applies) or a ban everywhere is in force for `user_id`."""
    for guild_id in dict.fromkeys(guild_ids):
        ban = await bans.active_ban(guild_id, user_id)
        if ban is not None:
            raise UserBanned(ban.reason)
