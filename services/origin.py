"""Who asks for something, where, and through which request: what every use case is given."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Origin:
    """The member, the place and the request behind a call (plain values: the bot builds one
    from an interaction). `interaction_id` keys the jobs it makes, so a retried request finds
    them instead of queueing them again; the reply fields say how its answer can be edited
    (an interaction token, until `reply_expires_at`)."""

    user_id: int
    channel_id: int
    guild_id: int | None
    interaction_id: int
    application_id: int
    interaction_token: str
    reply_expires_at: datetime
    is_moderator: bool = False  # in `guild_id`, from the guild's roles (bot.permissions)

    def moderates(self, guild_id: int | None) -> bool:
        """Whether this member may act as a moderator on what belongs to `guild_id`: only
        where they are one (a moderator of one server has no say over another's jobs; nobody
        moderates DMs)."""
        return self.is_moderator and self.guild_id is not None and self.guild_id == guild_id
