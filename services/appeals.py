"""Appeals and moderators' decisions on them without Discord: rate limits, strikes,
penalties, audit."""

from __future__ import annotations

from dataclasses import dataclass

from db import Appeal, AppealRepository, AppealState, AuditLog, BanRepository, GuildRepository
from services.errors import AppealRefused, JobUnavailable, NotModerator
from services.escalation import Penalty
from services.origin import Origin
from services.strikes import BLOCKED, STRIKE, apply_penalty, record_strike

APPEALS_PER_DAY = 5


@dataclass(frozen=True)
class Decision:
    """What a moderator decided, and what it cost the user (None when approved)."""

    appeal: Appeal
    outcome: AppealState
    penalty: Penalty | None
    strikes: int

    def message_for_user(self) -> str:
        prompt = self.appeal.prompt
        if self.outcome == AppealState.APPROVED:
            return f"Your appeal was approved: your prompt `{prompt}` is running now."
        consequence = self.penalty.describe() if self.penalty else "a ban"
        return (
            f"Your appeal for `{prompt}` was reviewed and the block stands. "
            f"This is strike {self.strikes}, which means {consequence}."
            if self.outcome == AppealState.UPHELD
            else f"Your appeal for `{prompt}` was reviewed and you have been banned from "
            "generating images on this server."
        )


class Appeals:
    def __init__(
        self,
        bans: BanRepository,
        audit: AuditLog,
        appeals: AppealRepository,
        guilds: GuildRepository,
        ladder: tuple[Penalty, ...],
    ) -> None:
        self.bans = bans
        self.audit = audit
        self.appeals = appeals
        self.guilds = guilds
        self.ladder = ladder

    async def appeal(self, audit_id: int, user_id: int, channel_id: int) -> tuple[Appeal, int]:
        """File an appeal of a blocked prompt; returns it and the review channel to post to."""
        record = await self.audit.get(audit_id)
        if record is None or record.action != BLOCKED or record.target_user_id != user_id:
            raise AppealRefused("Only the person whose prompt was blocked can appeal it.")
        if not record.details.get("appealable", True):
            raise AppealRefused("This rule has zero tolerance: blocks under it cannot be appealed.")
        if await self.appeals.for_record(audit_id) is not None:
            raise AppealRefused("You already appealed this block; a moderator will review it.")
        if await self.appeals.filed_since(user_id) >= APPEALS_PER_DAY:
            raise AppealRefused(
                f"You can appeal at most {APPEALS_PER_DAY} blocks in 24 hours.",
                hint="Try again tomorrow, or rephrase your prompt.",
            )
        review_channel = await self.guilds.review_channel(record.guild_id)
        if review_channel is None:
            raise AppealRefused(
                "This server has no review channel, so appeals cannot be read.",
                hint="Ask a moderator to run /mod setup review_channel:#channel.",
            )
        appeal = await self.appeals.file(record, channel_id)
        await self.audit.record(
            record.guild_id, user_id, user_id, "appeal_filed", "", {"appeal": appeal.id}
        )
        return appeal, review_channel

    async def shown_at(self, appeal_id: int, message_id: int) -> None:
        """Record the review channel's message that shows the appeal."""
        await self.appeals.set_review_message(appeal_id, message_id)

    async def decide(self, appeal_id: int, outcome: AppealState, moderator: Origin) -> Decision:
        """Approve, uphold (a strike, penalised by the ladder) or ban; audited either way.
        Only a moderator of the server the appeal was filed in may decide it."""
        appeal = await self.appeals.get(appeal_id)
        if appeal is None:
            raise JobUnavailable("That appeal no longer exists.")
        if not moderator.moderates(appeal.guild_id):
            raise NotModerator()
        moderator_id = moderator.user_id
        if not await self.appeals.decide(appeal_id, outcome, moderator_id):
            raise JobUnavailable("Another moderator already decided this appeal.")
        guild = appeal.guild_id
        details = {
            "appeal": appeal_id,
            "prompt": appeal.prompt,
            "category": appeal.category,
            "matched": appeal.matched,
        }
        await self.audit.record(
            guild, moderator_id, appeal.user_id, f"appeal_{outcome}", "", details
        )
        penalty: Penalty | None = None
        if outcome == AppealState.UPHELD:
            strikes, penalty = await record_strike(
                self.audit,
                self.bans,
                self.ladder,
                guild,
                appeal.user_id,
                moderator_id,
                "appeal upheld",
                details,
            )
            return Decision(appeal, outcome, penalty, strikes)
        strikes = await self.audit.count(guild, appeal.user_id, STRIKE)
        if outcome == AppealState.BANNED:
            penalty = Penalty("ban")
            await apply_penalty(
                self.bans,
                guild,
                appeal.user_id,
                penalty,
                "banned on review of an appeal",
                moderator_id,
            )
        return Decision(appeal, outcome, penalty, strikes)
