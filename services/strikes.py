"""Strikes and what they cost: a moderator upholding an appeal, or a member whose prompts
keep getting blocked (so nobody can probe the filter freely)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from db import AuditLog, BanRepository
from db.models import utcnow
from services.escalation import Penalty, penalty_for

STRIKE = "strike"
BLOCKED = "prompt_blocked"
BY_THE_BOT = 0  # the moderator id of a penalty no person decided


async def apply_penalty(
    bans: BanRepository,
    guild_id: int | None,
    user_id: int,
    penalty: Penalty,
    reason: str,
    moderator_id: int,
) -> None:
    """A time-out or ban in the guild (a warning costs nothing more than its record);
    `moderator_id` 0 is the bot itself."""
    if penalty.kind == "warning" or guild_id is None:
        return
    until: datetime | None = None
    if penalty.kind == "timeout" and penalty.duration is not None:
        until = utcnow() + penalty.duration
    await bans.ban(guild_id, user_id, reason, moderator_id, until)


async def record_strike(
    audit: AuditLog,
    bans: BanRepository,
    ladder: tuple[Penalty, ...],
    guild_id: int | None,
    user_id: int,
    actor_id: int | None,
    reason: str,
    details: dict[str, Any],
) -> tuple[int, Penalty]:
    """Audit one more strike for the member here and apply what the ladder says it costs;
    how many strikes they have now, and the penalty. `actor_id` None: the bot decided."""
    strikes = await audit.count(guild_id, user_id, STRIKE) + 1
    penalty = penalty_for(strikes, ladder)
    await audit.record(guild_id, actor_id, user_id, STRIKE, reason, details)
    cost = f"strike {strikes}: {reason}"
    await apply_penalty(bans, guild_id, user_id, penalty, cost, actor_id or BY_THE_BOT)
    return strikes, penalty


@dataclass(frozen=True)
class BlockStrike:
    """A strike for repeated blocked prompts: the how-many-th, and what it cost."""

    strikes: int
    penalty: Penalty
    blocks: int
    window: timedelta

    def message_for_user(self) -> str:
        return (
            f"You had {self.blocks} prompts blocked within {_hours(self.window)}: this is "
            f"strike {self.strikes}, which means {self.penalty.describe()}."
        )


class BlockStrikes:
    """Every `threshold`-th automatic block within `window` is a strike, escalating along
    the ladder like an upheld appeal (0 turns this off)."""

    def __init__(
        self,
        audit: AuditLog,
        bans: BanRepository,
        ladder: tuple[Penalty, ...],
        threshold: int,
        window: timedelta,
    ) -> None:
        self.audit = audit
        self.bans = bans
        self.ladder = ladder
        self.threshold = threshold
        self.window = window

    async def after_block(self, guild_id: int | None, user_id: int) -> BlockStrike | None:
        """Called once a block is audited: the strike it brings, if any."""
        if self.threshold <= 0:
            return None
        blocks = await self.audit.count(guild_id, user_id, BLOCKED, utcnow() - self.window)
        if blocks == 0 or blocks % self.threshold:
            return None
        strikes, penalty = await record_strike(
            self.audit,
            self.bans,
            self.ladder,
            guild_id,
            user_id,
            None,
            f"{blocks} blocked prompts within {_hours(self.window)}",
            {"automatic": True, "blocks": blocks},
        )
        return BlockStrike(strikes, penalty, blocks, self.window)


def _hours(window: timedelta) -> str:
    minutes = int(window.total_seconds() // 60)
    return f"{minutes // 60} h" if minutes % 60 == 0 else f"{minutes} min"
