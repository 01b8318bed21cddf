"""Appeals in Discord: the member's Appeal button, and the moderators' review message with
Approve / Uphold / Ban."""

from __future__ import annotations

import discord
from discord.ui import View

from bot.ui.components import button
from bot.ui.custom_ids import digit, register, snowflake
from db import Appeal, AppealState

INDEX = digit("index", 4)
APPEAL = register("ap", INDEX, snowflake("record"))  # the audit record of the block
# A moderator's decision on an appeal, by its custom_id.
DECISIONS = {
    AppealState.APPROVED: register("ra", INDEX, snowflake("appeal")),
    AppealState.UPHELD: register("ru", INDEX, snowflake("appeal")),
    AppealState.BANNED: register("rb", INDEX, snowflake("appeal")),
}
_DECISION_BUTTONS = {
    AppealState.APPROVED: ("Approve", discord.ButtonStyle.success),
    AppealState.UPHELD: ("Uphold", discord.ButtonStyle.secondary),
    AppealState.BANNED: ("Ban", discord.ButtonStyle.danger),
}


def appeal_view(audit_id: int) -> View:
    view = View(timeout=None)
    view.add_item(button(APPEAL.make(0, audit_id), label="Appeal"))
    return view


def review_view(appeal_id: int) -> View:
    """Approve / Uphold / Ban for a moderator reviewing an appeal."""
    view = View(timeout=None)
    for outcome, kind in DECISIONS.items():
        label, style = _DECISION_BUTTONS[outcome]
        view.add_item(button(kind.make(0, appeal_id), label=label, style=style))
    return view


def review_embed(appeal: Appeal, outcome: str | None = None) -> discord.Embed:
    embed = discord.Embed(
        title=f"Appeal #{appeal.id}" + (f": {outcome}" if outcome else ""),
        description=f"<@{appeal.user_id}> asks for a review of a blocked prompt.",
        colour=discord.Colour.orange() if outcome is None else discord.Colour.dark_grey(),
    )
    prompt = f"```\n{appeal.prompt[:1000]}```" if appeal.prompt else "*(erased by its author)*"
    embed.add_field(name="Prompt", value=prompt, inline=False)
    embed.add_field(name="Rule", value=appeal.category or "unknown")
    embed.add_field(name="Matched", value=", ".join(appeal.matched) or "-")
    return embed
