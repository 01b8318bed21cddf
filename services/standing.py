"""A member's standing, checked the same way on every path that makes a job or shows a result:
banned (or timed out) where they ask, in the server that owns the job, or everywhere; and
asking from a DM where the owner turned direct messages off."""

from __future__ import annotations

from db import BanRepository
from services.errors import DirectMessagesOff, UserBanned


class StandingCheck:
    def __init__(self, bans: BanRepository, allow_dms: bool) -> None:
        self.bans = bans
        self.allow_dms = allow_dms

    async def check(self, user_id: int, asked_in: int | None, *job_guild_ids: int | None) -> None:
        """DirectMessagesOff if asked in a DM (`asked_in` None) while DMs are off; UserBanned if
        a ban where they ask, in any of the servers owning the jobs acted on, or everywhere is
        in force for `user_id`."""
        if asked_in is None and not self.allow_dms:
            raise DirectMessagesOff()
        for guild_id in dict.fromkeys((asked_in, *job_guild_ids)):
            ban = await self.bans.active_ban(guild_id, user_id)
            if ban is not None:
                raise UserBanned(ban.reason)
