"""Moderator tools in Discord: /mod commands, appeals and their review, alerts.

Discord's default permissions only hide /mod from members; every command and review button
checks moderator rights again here (Manage Messages, or a configured moderator role).
"""

from __future__ import annotations

import asyncio
import functools
import io
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Concatenate, Literal, ParamSpec

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import ImagineBot
from bot.delivery.alerts import alert_moderators, tell_member
from bot.delivery.replies import tell_privately
from bot.origins import appeal_origin
from bot.permissions import is_moderator
from bot.router import Handler
from bot.ui.review import APPEAL, DECISIONS, review_embed, review_view
from db import Appeal, AppealState, Job
from db.models import AuditRecord
from services.errors import BannedPrompt, NotModerator, UserFacingError
from services.escalation import format_duration
from services.moderators import QueueState
from services.server_stats import chart_png

Interaction = discord.Interaction[Any]
Category = Literal["sexual", "minors", "violence", "hate", "public_figure", "self_harm", "illegal"]
P = ParamSpec("P")


def answered_privately(
    command: Callable[Concatenate[Moderation, Interaction, P], Awaitable[str]],
) -> Callable[Concatenate[Moderation, Interaction, P], Coroutine[Any, Any, None]]:
    """A /mod command whose body returns its answer: the answer goes to the moderator alone,
    and a body that takes longer than the bot's acknowledgement budget (a busy database)
    has the interaction deferred privately first, inside Discord's 3 s."""

    @functools.wraps(command)
    async def answer(
        self: Moderation, interaction: Interaction, /, *args: P.args, **kwargs: P.kwargs
    ) -> None:
        work = command(self, interaction, *args, **kwargs)
        text = await self.bot.acks.within_deadline(interaction, work, ephemeral=True)
        await tell_privately(interaction, content=text)

    return answer


@app_commands.guild_only()
@app_commands.default_permissions(manage_messages=True)
class Moderation(commands.GroupCog, group_name="mod", group_description="Moderator tools"):
    terms = app_commands.Group(name="terms", description="This server's blocked and allowed terms")
    queue = app_commands.Group(name="queue", description="This server's job queue")

    def __init__(self, bot: ImagineBot) -> None:
        self.bot = bot
        self.moderators = bot.services.moderators
        self.appeals = bot.services.appeals
        super().__init__()

    def _guild(self, interaction: Interaction) -> int:
        """The guild a moderator acts in; NotModerator for anyone else."""
        if interaction.guild_id is None or not is_moderator(
            interaction, self.bot.settings.mod_role_ids
        ):
            raise NotModerator()
        return interaction.guild_id

    @app_commands.command(name="ban", description="Stop a member from generating images here")
    @app_commands.describe(
        user="Who to ban",
        reason="Why (kept in the audit log)",
        duration="How long, e.g. 30m, 1h, 7d (leave empty for a ban until lifted)",
    )
    @answered_privately
    async def ban(
        self, interaction: Interaction, user: discord.User, reason: str, duration: str = ""
    ) -> str:
        guild_id = self._guild(interaction)
        created, length = await self.moderators.ban(
            guild_id, user.id, reason, interaction.user.id, duration
        )
        span = f" for {format_duration(length)}" if length else ""
        return (
            f"Banned {user.mention}{span}: {reason}"
            if created
            else f"{user.mention} was already banned; the ban now says{span}: {reason}"
        )

    @app_commands.command(
        name="unban", description="Let a banned or timed-out member generate again"
    )
    @app_commands.describe(user="Who to unban", reason="Why (kept in the audit log)")
    @answered_privately
    async def unban(self, interaction: Interaction, user: discord.User, reason: str = "") -> str:
        guild_id = self._guild(interaction)
        lifted = await self.moderators.unban(guild_id, user.id, interaction.user.id, reason)
        return f"Unbanned {user.mention}." if lifted else f"{user.mention} was not banned."

    @app_commands.command(name="timeout", description="Stop a member from generating for a while")
    @app_commands.describe(
        user="Who", duration="e.g. 30m, 1h, 7d", reason="Why (kept in the audit log)"
    )
    @answered_privately
    async def timeout(
        self, interaction: Interaction, user: discord.User, duration: str, reason: str
    ) -> str:
        guild_id = self._guild(interaction)
        length = await self.moderators.timeout(
            guild_id, user.id, duration, reason, interaction.user.id
        )
        return f"Timed out {user.mention} for {format_duration(length)}: {reason}"

    @app_commands.command(name="strikes", description="How many upheld violations a member has")
    @answered_privately
    async def strikes(self, interaction: Interaction, user: discord.User) -> str:
        guild_id = self._guild(interaction)
        standing = await self.moderators.standing(guild_id, user.id)
        status = "not restricted"
        if standing.ban is not None:
            status = (
                "banned"
                if standing.ban.expires_at is None
                else f"timed out until {discord.utils.format_dt(standing.ban.expires_at)}"
            )
        return f"{user.mention} has {standing.strikes} strike(s) and is {status}."

    @app_commands.command(name="audit", description="Moderation records for a member or a job")
    @app_commands.describe(
        user="A member's records", job_id="A job's records (from its buttons or /history)"
    )
    @answered_privately
    async def audit(
        self,
        interaction: Interaction,
        user: discord.User | None = None,
        job_id: int | None = None,
    ) -> str:
        guild_id = self._guild(interaction)
        if job_id is not None:
            job, records = await self.moderators.job_records(guild_id, job_id)
            header = f"Job #{job.id} by <@{job.user_id}>: `{job.prompt[:200]}` ({job.state})"
        elif user is not None:
            header = f"Records for {user.mention}:"
            records = await self.moderators.member_records(guild_id, user.id)
        else:
            raise UserFacingError("Give a user or a job_id to audit.")
        lines = [header] + [_record_line(r) for r in records[-15:]]
        return "\n".join(lines) if records else f"{header}\nNo records."

    @app_commands.command(name="stats", description="This server's usage, with a chart")
    @app_commands.describe(days="How many days back (1-90, default 7)")
    async def stats(self, interaction: Interaction, days: int = 7) -> None:
        guild_id = self._guild(interaction)
        work = self.bot.services.server_stats.report(guild_id, days)
        report = await self.bot.acks.within_deadline(interaction, work, ephemeral=True)
        chart = discord.File(io.BytesIO(await asyncio.to_thread(chart_png, report)), "stats.png")
        text = "\n".join(report.lines())
        if interaction.response.is_done():
            await interaction.followup.send(text, file=chart, ephemeral=True)
        else:
            await interaction.response.send_message(text, file=chart, ephemeral=True)

    @app_commands.command(name="review", description="Open appeals waiting for a decision")
    @answered_privately
    async def review(self, interaction: Interaction) -> str:
        guild_id = self._guild(interaction)
        appeals = await self.moderators.open_appeals(guild_id)
        lines = [f"#{a.id} <@{a.user_id}> `{a.prompt[:80]}` ({a.category})" for a in appeals]
        return "\n".join(lines) or "No open appeals."

    @app_commands.command(
        name="setup", description="Appeals channel, stealth mode, job limits here"
    )
    @app_commands.describe(
        review_channel="Where appeals and zero-tolerance alerts are posted",
        allow_stealth="Off: every job made on this server is public, whatever members chose",
        max_running="Jobs one member may have rendering at once here, up to the bot's own "
        "limit (0: the bot's limit)",
        max_queued="Jobs one member may have waiting here, up to the bot's own limit (0: its "
        "limit)",
    )
    @answered_privately
    async def setup(
        self,
        interaction: Interaction,
        review_channel: discord.TextChannel | None = None,
        allow_stealth: bool | None = None,
        max_running: app_commands.Range[int, 0, 20] | None = None,
        max_queued: app_commands.Range[int, 0, 100] | None = None,
    ) -> str:
        guild_id = self._guild(interaction)
        setup = await self.moderators.set_up(
            guild_id,
            interaction.user.id,
            review_channel.id if review_channel is not None else None,
            allow_stealth,
            max_running,
            max_queued,
        )
        channel = f"<#{setup.review_channel_id}>" if setup.review_channel_id else "no channel yet"
        stealth = "allowed" if setup.allow_stealth else "off (every job here is public)"
        return (
            f"Appeals go to {channel}; stealth mode is {stealth}; each member may have "
            f"{setup.max_running} job(s) rendering and {setup.max_queued} waiting."
        )

    @queue.command(name="pause", description="Hold every waiting job here until resumed")
    @app_commands.describe(reason="Why (kept in the audit log)")
    @answered_privately
    async def queue_pause(self, interaction: Interaction, reason: str = "") -> str:
        state = await self._set_paused(interaction, True, reason)
        return (
            f"The queue here is {'already ' if state.was_paused else ''}paused: {state.waiting} "
            f"waiting job(s) hold until `/mod queue resume`; {state.running} running job(s) "
            "finish."
        )

    @queue.command(name="resume", description="Let waiting jobs here start again")
    @app_commands.describe(reason="Why (kept in the audit log)")
    @answered_privately
    async def queue_resume(self, interaction: Interaction, reason: str = "") -> str:
        state = await self._set_paused(interaction, False, reason)
        was = "is running again" if state.was_paused else "was not paused"
        return f"The queue here {was}: {state.waiting} waiting, {state.running} running."

    async def _set_paused(self, interaction: Interaction, paused: bool, reason: str) -> QueueState:
        guild_id = self._guild(interaction)
        state = await self.moderators.set_paused(guild_id, interaction.user.id, paused, reason)
        if state.was_paused != paused:
            self.bot.queue_changed()
        return state

    @queue.command(name="cancel", description="Stop any member's waiting or running job here")
    @app_commands.describe(job_id="The job (from /mod audit or its message)", reason="Why")
    @answered_privately
    async def queue_cancel(self, interaction: Interaction, job_id: int, reason: str = "") -> str:
        guild_id = self._guild(interaction)
        origin = self.bot.origin(interaction)
        job = await self.moderators.cancel_job(guild_id, job_id, origin, reason)
        self.bot.queue_changed()
        return f"Cancelled job #{job_id} by <@{job.user_id}>."

    @app_commands.command(name="test", description="What the moderation says about a prompt")
    @app_commands.describe(prompt="The prompt to judge (it is not run, and nothing is recorded)")
    @answered_privately
    async def test(self, interaction: Interaction, prompt: str) -> str:
        guild_id = self._guild(interaction)
        verdict = await self.bot.services.imagine.intake.judge(prompt, guild_id)
        if verdict.allowed:
            return "**Allowed**: no rule or layer blocks this prompt here."
        appeal = "can be appealed" if verdict.appealable else "zero tolerance, no appeal"
        return (
            f"**Blocked** by the {verdict.layer} layer, rule **{verdict.category}** "
            f"({appeal}).\n{verdict.reason}"
        )

    @terms.command(name="add", description="Block a term on this server")
    @answered_privately
    async def terms_add(self, interaction: Interaction, term: str, category: Category) -> str:
        return await self._add_term(interaction, term, category)

    @terms.command(name="allow", description="Allow a term the built-in lists would block")
    @answered_privately
    async def terms_allow(self, interaction: Interaction, term: str) -> str:
        return await self._add_term(interaction, term, "allow")

    async def _add_term(self, interaction: Interaction, term: str, category: str) -> str:
        guild_id = self._guild(interaction)
        normalized, added = await self.moderators.add_term(
            guild_id, term, category, interaction.user.id
        )
        verb = "Allowed" if category == "allow" else f"Blocked ({category})"
        return f"{verb}: `{normalized}`." if added else f"`{normalized}` was already listed."

    @terms.command(name="remove", description="Remove a term you added")
    @answered_privately
    async def terms_remove(self, interaction: Interaction, term: str) -> str:
        guild_id = self._guild(interaction)
        normalized, removed = await self.moderators.remove_term(guild_id, term, interaction.user.id)
        return f"Removed `{normalized}`." if removed else f"`{normalized}` was not listed."

    @terms.command(name="list", description="This server's own terms")
    @answered_privately
    async def terms_list(self, interaction: Interaction) -> str:
        guild_id = self._guild(interaction)
        rows = await self.moderators.guild_terms(guild_id)
        return "\n".join(f"`{t.term}` ({t.category})" for t in rows) or "No server terms yet."

    async def appeal_pressed(self, interaction: Interaction, fields: dict[str, Any]) -> None:
        """A member appeals a blocked prompt: it goes to the review channel."""
        appeal, channel_id = await self.appeals.appeal(
            fields["record"], interaction.user.id, interaction.channel_id or 0
        )
        channel = self.bot.get_partial_messageable(channel_id, guild_id=appeal.guild_id)
        posted = await channel.send(
            embed=review_embed(appeal),
            view=review_view(appeal.id),
            allowed_mentions=discord.AllowedMentions.none(),
        )
        await self.appeals.shown_at(appeal.id, posted.id)
        await interaction.response.send_message(
            "Your appeal was sent to the moderators. You will hear back here.", ephemeral=True
        )

    def decision(self, outcome: AppealState) -> Handler:
        async def decided(interaction: Interaction, fields: dict[str, Any]) -> None:
            await self.decide(interaction, outcome, fields["appeal"])

        return decided

    async def decide(self, interaction: Interaction, outcome: AppealState, appeal_id: int) -> None:
        """A moderator's decision on an appeal; an approved prompt runs for its author."""
        decision = await self.appeals.decide(appeal_id, outcome, self.bot.origin(interaction))
        shown = f"{decision.outcome} by {interaction.user.display_name}"
        await interaction.response.edit_message(
            embed=review_embed(decision.appeal, shown), view=None
        )
        appeal = decision.appeal
        if decision.outcome == AppealState.APPROVED:
            await self._run_approved(appeal)
        await tell_member(
            self.bot,
            appeal.user_id,
            appeal.channel_id,
            appeal.guild_id,
            decision.message_for_user(),
        )

    async def _run_approved(self, appeal: Appeal) -> None:
        """Run an approved prompt for its author, in their channel; its jobs are keyed by
        the appeal (no interaction of the author's asked for them)."""
        origin = appeal_origin(appeal, self.bot.application_id or 0)
        jobs = await self.bot.services.imagine.imagine(appeal.prompt, origin, approved=True)
        await self.bot.posting.post_in_channel(appeal.channel_id, appeal.guild_id, jobs)

    @commands.Cog.listener()
    async def on_zero_tolerance_block(self, interaction: Interaction, error: BannedPrompt) -> None:
        await alert_moderators(
            self.bot,
            self.bot.services.guilds,
            interaction.guild_id,
            "Zero-tolerance prompt blocked",
            f"<@{interaction.user.id}>: {error.description}",
        )

    @commands.Cog.listener()
    async def on_block_strike(self, interaction: Interaction, error: BannedPrompt) -> None:
        """A member's blocked prompts added up to a strike: the moderators hear of it."""
        assert error.strike is not None
        await alert_moderators(
            self.bot,
            self.bot.services.guilds,
            interaction.guild_id,
            "Repeated blocked prompts",
            f"<@{interaction.user.id}>: {error.strike.message_for_user()} "
            f"Last block: {error.description}",
        )

    @commands.Cog.listener()
    async def on_result_withheld(self, job: Job) -> None:
        """An output filter withheld a result: audit it and show the moderators."""
        await self.bot.services.audit.record(
            job.guild_id, None, job.user_id, "output_filtered", job.error or "", {"job": job.id}
        )
        await alert_moderators(
            self.bot,
            self.bot.services.guilds,
            job.guild_id,
            "Result withheld by output filters",
            f"<@{job.user_id}>, job {job.id}: `{job.prompt[:500]}` ({job.error})",
        )


def _record_line(r: AuditRecord) -> str:
    who = f"<@{r.actor_id}>" if r.actor_id else "the bot"
    reason = f": {r.reason[:120]}" if r.reason else ""
    return f"`{r.created_at:%Y-%m-%d %H:%M}` **{r.action}** by {who}{reason}"


async def setup(bot: ImagineBot) -> None:
    moderation = Moderation(bot)
    bot.router.add(APPEAL, moderation.appeal_pressed)
    for outcome, kind in DECISIONS.items():
        bot.router.add(kind, moderation.decision(outcome))
    await bot.add_cog(moderation)
