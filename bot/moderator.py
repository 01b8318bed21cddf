"""Moderator tools in Discord: /mod commands, appeals and the review queue.

Discord's default permissions only hide /mod from members; every command and review button
checks moderator rights again here (Manage Messages, or a configured moderator role).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Coroutine
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Concatenate, Literal, ParamSpec

import discord
from discord import app_commands

from bot.buttons import review_view
from bot.ephemeral import tell_privately
from bot.errors import NotModerator, UserFacingError
from bot.escalation import format_duration, parse_duration
from bot.permissions import is_moderator
from db import Appeal, AppealState, JobState
from db.models import AuditRecord, utcnow
from db.moderation import within_deployment

if TYPE_CHECKING:
    from bot.app import ImagineBot

Interaction = discord.Interaction["ImagineBot"]
Category = Literal["sexual", "minors", "violence", "hate", "public_figure", "self_harm", "illegal"]
P = ParamSpec("P")
OUTCOMES = {"ra": AppealState.APPROVED, "ru": AppealState.UPHELD, "rb": AppealState.BANNED}

mod = app_commands.Group(
    name="mod",
    description="Moderator tools",
    guild_only=True,
    default_permissions=discord.Permissions(manage_messages=True),
)
terms = app_commands.Group(
    name="terms", description="This server's blocked and allowed terms", parent=mod
)
queue = app_commands.Group(name="queue", description="This server's job queue", parent=mod)


def _require_moderator(interaction: Interaction) -> int:
    if interaction.guild_id is None or not is_moderator(
        interaction, interaction.client.settings.mod_role_ids
    ):
        raise NotModerator()
    return interaction.guild_id


def _answered_privately(
    command: Callable[Concatenate[Interaction, P], Awaitable[str]],
) -> Callable[Concatenate[Interaction, P], Coroutine[Any, Any, None]]:
    """A /mod command whose body returns its answer: the answer goes to the moderator alone,
    and a body that takes longer than the bot's acknowledgement budget (a busy database)
    has the interaction deferred privately first, inside Discord's 3 s."""

    @functools.wraps(command)
    async def answer(interaction: Interaction, /, *args: P.args, **kwargs: P.kwargs) -> None:
        work = command(interaction, *args, **kwargs)
        text = await interaction.client.within_deadline(interaction, work, ephemeral=True)
        await tell_privately(interaction, content=text)

    return answer


@mod.command(name="ban", description="Stop a member from generating images here")
@app_commands.describe(
    user="Who to ban",
    reason="Why (kept in the audit log)",
    duration="How long, e.g. 30m, 1h, 7d (leave empty for a ban until lifted)",
)
@_answered_privately
async def ban(interaction: Interaction, user: discord.User, reason: str, duration: str = "") -> str:
    guild_id = _require_moderator(interaction)
    length = _duration(duration) if duration else None
    until = utcnow() + length if length else None
    created = await interaction.client.bans.ban(
        guild_id, user.id, reason, interaction.user.id, until
    )
    span = f" for {format_duration(length)}" if length else ""
    return (
        f"Banned {user.mention}{span}: {reason}"
        if created
        else f"{user.mention} was already banned; the ban now says{span}: {reason}"
    )


def _duration(text: str) -> timedelta:
    try:
        return parse_duration(text)
    except ValueError as error:
        raise UserFacingError(str(error).capitalize() + ".") from error


@mod.command(name="unban", description="Let a banned or timed-out member generate again")
@app_commands.describe(user="Who to unban", reason="Why (kept in the audit log)")
@_answered_privately
async def unban(interaction: Interaction, user: discord.User, reason: str = "") -> str:
    guild_id = _require_moderator(interaction)
    lifted = await interaction.client.bans.unban(guild_id, user.id, interaction.user.id, reason)
    return f"Unbanned {user.mention}." if lifted else f"{user.mention} was not banned."


@mod.command(name="timeout", description="Stop a member from generating for a while")
@app_commands.describe(
    user="Who", duration="e.g. 30m, 1h, 7d", reason="Why (kept in the audit log)"
)
@_answered_privately
async def timeout(interaction: Interaction, user: discord.User, duration: str, reason: str) -> str:
    guild_id = _require_moderator(interaction)
    length = _duration(duration)
    until = utcnow() + length
    await interaction.client.bans.ban(guild_id, user.id, reason, interaction.user.id, until)
    return f"Timed out {user.mention} for {format_duration(length)}: {reason}"


@mod.command(name="strikes", description="How many upheld violations a member has")
@_answered_privately
async def strikes(interaction: Interaction, user: discord.User) -> str:
    guild_id = _require_moderator(interaction)
    count = await interaction.client.bans.count(guild_id, user.id, "strike")
    ban = await interaction.client.bans.active_ban(guild_id, user.id)
    status = "not restricted"
    if ban is not None:
        status = (
            "banned"
            if ban.expires_at is None
            else f"timed out until {discord.utils.format_dt(ban.expires_at)}"
        )
    return f"{user.mention} has {count} strike(s) and is {status}."


@mod.command(name="audit", description="Moderation records for a member or a job")
@app_commands.describe(
    user="A member's records", job_id="A job's records (from its buttons or /history)"
)
@_answered_privately
async def audit(
    interaction: Interaction, user: discord.User | None = None, job_id: int | None = None
) -> str:
    guild_id = _require_moderator(interaction)
    bot = interaction.client
    if job_id is not None:
        job = await bot.jobs.get(job_id)
        if job is None or job.guild_id != guild_id:
            raise UserFacingError(f"There is no job {job_id} on this server.")
        header = f"Job #{job.id} by <@{job.user_id}>: `{job.prompt[:200]}` ({job.state})"
        records = await bot.bans.audit_for_job(guild_id, job_id)
    elif user is not None:
        header = f"Records for {user.mention}:"
        records = await bot.bans.audit_for(guild_id, user.id)
    else:
        raise UserFacingError("Give a user or a job_id to audit.")
    lines = [header] + [_record_line(r) for r in records[-15:]]
    return "\n".join(lines) if records else f"{header}\nNo records."


def _record_line(r: AuditRecord) -> str:
    who = f"<@{r.actor_id}>" if r.actor_id else "the bot"
    reason = f": {r.reason[:120]}" if r.reason else ""
    return f"`{r.created_at:%Y-%m-%d %H:%M}` **{r.action}** by {who}{reason}"


@mod.command(name="review", description="Open appeals waiting for a decision")
@_answered_privately
async def review(interaction: Interaction) -> str:
    guild_id = _require_moderator(interaction)
    appeals = await interaction.client.moderation.open_appeals(guild_id)
    lines = [f"#{a.id} <@{a.user_id}> `{a.prompt[:80]}` ({a.category})" for a in appeals]
    return "\n".join(lines) or "No open appeals."


@mod.command(name="setup", description="Appeals channel, stealth mode, job limits here")
@app_commands.describe(
    review_channel="Where appeals and zero-tolerance alerts are posted",
    allow_stealth="Off: every job made on this server is public, whatever members chose",
    max_running="Jobs one member may have rendering at once here, up to the bot's own limit "
    "(0: the bot's limit)",
    max_queued="Jobs one member may have waiting here, up to the bot's own limit (0: its limit)",
)
@_answered_privately
async def setup(
    interaction: Interaction,
    review_channel: discord.TextChannel | None = None,
    allow_stealth: bool | None = None,
    max_running: app_commands.Range[int, 0, 20] | None = None,
    max_queued: app_commands.Range[int, 0, 100] | None = None,
) -> str:
    guild_id = _require_moderator(interaction)
    repo = interaction.client.moderation
    changed: dict[str, Any] = {}
    if review_channel is not None:
        await repo.set_review_channel(guild_id, review_channel.id)
        changed["review_channel"] = review_channel.id
    if allow_stealth is not None:
        await repo.set_allow_stealth(guild_id, allow_stealth)
        changed["allow_stealth"] = allow_stealth
    limits = {
        name: value or None  # 0: back to the deployment's default
        for name, value in (("max_running_jobs", max_running), ("max_queued_jobs", max_queued))
        if value is not None
    }
    if limits:
        await repo.set_job_limits(guild_id, **limits)
        changed.update(limits)
    if changed:
        await interaction.client.bans.record(
            guild_id, interaction.user.id, None, "setup", "", changed
        )
    return await _setup_summary(interaction.client, guild_id)


async def _setup_summary(bot: ImagineBot, guild_id: int) -> str:
    channel_id = await bot.moderation.review_channel(guild_id)
    rules = await bot.moderation.rules(guild_id)
    stealth = rules.allow_stealth
    running = within_deployment(rules.max_running_jobs, bot.settings.max_running_jobs)
    queued = within_deployment(rules.max_queued_jobs, bot.settings.max_queued_jobs)
    return (
        f"Appeals go to {f'<#{channel_id}>' if channel_id else 'no channel yet'}; "
        f"stealth mode is {'allowed' if stealth else 'off (every job here is public)'}; "
        f"each member may have {running} job(s) rendering and {queued} waiting."
    )


@queue.command(name="pause", description="Hold every waiting job here until resumed")
@app_commands.describe(reason="Why (kept in the audit log)")
@_answered_privately
async def queue_pause(interaction: Interaction, reason: str = "") -> str:
    return await _set_paused(interaction, True, reason)


@queue.command(name="resume", description="Let waiting jobs here start again")
@app_commands.describe(reason="Why (kept in the audit log)")
@_answered_privately
async def queue_resume(interaction: Interaction, reason: str = "") -> str:
    return await _set_paused(interaction, False, reason)


async def _set_paused(interaction: Interaction, paused: bool, reason: str) -> str:
    guild_id = _require_moderator(interaction)
    bot = interaction.client
    was = await bot.moderation.queue_paused(guild_id)
    # Counted first: once resumed, workers start the waiting jobs at once.
    counts = await bot.jobs.active_counts(guild_id=guild_id)
    if was != paused:
        await bot.moderation.set_queue_paused(guild_id, paused)
        action = "queue_paused" if paused else "queue_resumed"
        await bot.bans.record(guild_id, interaction.user.id, None, action, reason)
        bot.queue_changed()
    waiting, running = counts.get(JobState.QUEUED, 0), counts.get(JobState.RUNNING, 0)
    if paused:
        text = (
            f"The queue here is {'already ' if was else ''}paused: {waiting} waiting job(s) "
            f"hold until `/mod queue resume`; {running} running job(s) finish."
        )
    else:
        text = (
            f"The queue here {'was not paused' if not was else 'is running again'}: "
            f"{waiting} waiting, {running} running."
        )
    return text


@queue.command(name="cancel", description="Stop any member's waiting or running job here")
@app_commands.describe(job_id="The job (from /mod audit or its message)", reason="Why")
@_answered_privately
async def queue_cancel(interaction: Interaction, job_id: int, reason: str = "") -> str:
    guild_id = _require_moderator(interaction)
    bot = interaction.client
    job = await bot.jobs.get(job_id)
    if job is None or job.guild_id != guild_id:
        raise UserFacingError(f"There is no job {job_id} on this server.")
    await bot.service.cancel(job_id, bot.origin(interaction), reason)
    bot.queue_changed()
    return f"Cancelled job #{job_id} by <@{job.user_id}>."


@terms.command(name="add", description="Block a term on this server")
@_answered_privately
async def terms_add(interaction: Interaction, term: str, category: Category) -> str:
    guild_id = _require_moderator(interaction)
    return await _change_term(interaction, guild_id, term, category)


@terms.command(name="allow", description="Allow a term the built-in lists would block")
@_answered_privately
async def terms_allow(interaction: Interaction, term: str) -> str:
    guild_id = _require_moderator(interaction)
    return await _change_term(interaction, guild_id, term, "allow")


async def _change_term(interaction: Interaction, guild_id: int, term: str, category: str) -> str:
    normalized = " ".join(term.lower().split())
    if not normalized or len(normalized) > 100:
        raise UserFacingError("A term must be 1-100 characters.")
    added = await interaction.client.moderation.add_term(
        guild_id, normalized, category, interaction.user.id
    )
    await interaction.client.bans.record(
        guild_id, interaction.user.id, None, f"term_{category}", normalized
    )
    verb = "Allowed" if category == "allow" else f"Blocked ({category})"
    return f"{verb}: `{normalized}`." if added else f"`{normalized}` was already listed."


@terms.command(name="remove", description="Remove a term you added")
@_answered_privately
async def terms_remove(interaction: Interaction, term: str) -> str:
    guild_id = _require_moderator(interaction)
    normalized = " ".join(term.lower().split())
    removed = await interaction.client.moderation.remove_term(guild_id, normalized)
    await interaction.client.bans.record(
        guild_id, interaction.user.id, None, "term_removed", normalized
    )
    return f"Removed `{normalized}`." if removed else f"`{normalized}` was not listed."


@terms.command(name="list", description="This server's own terms")
@_answered_privately
async def terms_list(interaction: Interaction) -> str:
    guild_id = _require_moderator(interaction)
    rows = await interaction.client.moderation.terms(guild_id)
    return "\n".join(f"`{t.term}` ({t.category})" for t in rows) or "No server terms yet."


def review_embed(appeal: Appeal, outcome: str | None = None) -> discord.Embed:
    embed = discord.Embed(
        title=f"Appeal #{appeal.id}" + (f": {outcome}" if outcome else ""),
        description=f"<@{appeal.user_id}> asks for a review of a blocked prompt.",
        colour=discord.Colour.orange() if outcome is None else discord.Colour.dark_grey(),
    )
    embed.add_field(name="Prompt", value=f"```\n{appeal.prompt[:1000]}```", inline=False)
    embed.add_field(name="Rule", value=appeal.category or "unknown")
    embed.add_field(name="Matched", value=", ".join(appeal.matched) or "-")
    return embed


async def appeal_pressed(
    bot: ImagineBot, interaction: discord.Interaction[Any], audit_id: int
) -> None:
    appeal, channel_id = await bot.review.appeal(
        audit_id, interaction.user.id, interaction.channel_id or 0
    )
    channel = bot.get_partial_messageable(channel_id, guild_id=appeal.guild_id)
    posted = await channel.send(
        embed=review_embed(appeal),
        view=review_view(appeal.id),
        allowed_mentions=discord.AllowedMentions.none(),
    )
    await bot.moderation.set_review_message(appeal.id, posted.id)
    await interaction.response.send_message(
        "Your appeal was sent to the moderators. You will hear back here.", ephemeral=True
    )


async def review_pressed(
    bot: ImagineBot, interaction: discord.Interaction[Any], action: str, appeal_id: int
) -> None:
    moderator = is_moderator(interaction, bot.settings.mod_role_ids)
    decision = await bot.review.decide(appeal_id, OUTCOMES[action], interaction.user.id, moderator)
    outcome = f"{decision.outcome} by {interaction.user.display_name}"
    await interaction.response.edit_message(embed=review_embed(decision.appeal, outcome), view=None)
    appeal = decision.appeal
    if decision.outcome == AppealState.APPROVED:
        await bot.run_approved(appeal)
    await notify(
        bot, appeal.user_id, appeal.channel_id, appeal.guild_id, decision.message_for_user()
    )


async def notify(
    bot: ImagineBot, user_id: int, channel_id: int, guild_id: int | None, text: str
) -> None:
    """Tell a user about a decision: by DM, or in the channel they used if DMs are closed."""
    mention = discord.AllowedMentions(users=[discord.Object(user_id)], everyone=False, roles=False)
    try:
        user = bot.get_user(user_id) or await bot.fetch_user(user_id)
        await user.send(text)
    except discord.HTTPException:
        channel = bot.get_partial_messageable(channel_id, guild_id=guild_id)
        await channel.send(f"<@{user_id}> {text}", allowed_mentions=mention)


async def alert_moderators(bot: ImagineBot, guild_id: int | None, title: str, text: str) -> None:
    """Post to the review channel, when the guild has one: what moderators must see without
    anyone appealing (zero-tolerance blocks, results withheld by the output filter)."""
    channel_id = await bot.moderation.review_channel(guild_id)
    if channel_id is None:
        return
    embed = discord.Embed(title=title, colour=discord.Colour.dark_red(), description=text)
    channel = bot.get_partial_messageable(channel_id, guild_id=guild_id)
    await channel.send(embed=embed, allowed_mentions=discord.AllowedMentions.none())


def register(tree: app_commands.CommandTree[ImagineBot]) -> None:
    tree.add_command(mod)
