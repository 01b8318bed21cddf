"""Answering an interaction inside Discord's 3 s: defer when the answer is late, then answer
whatever happened before (a "thinking" message to settle, a followup)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from typing import Any, TypeVar

import discord

T = TypeVar("T")
# Discord drops an interaction not acknowledged within 3 s. An answer not ready within the
# acknowledgement budget (IMAGINEBOT_ACK_BUDGET_S) after the interaction was made is
# deferred first; with more than BUSY_INTERACTIONS being answered at once, each new one is
# deferred at once (docs/design-notes.md, "Answering within Discord's 3 s").
BUSY_INTERACTIONS = 8

# Marks an interaction (in its `extras`) whose "thinking" message tell_privately has dealt with.
_LOADING_SETTLED = "imaginebot.loading_settled"
# What a public "thinking" message says for the moment before it is removed.
SETTLED = "Answered privately."


def thinking(interaction: discord.Interaction[Any]) -> bool:
    """Whether the interaction was deferred with a "thinking" message (public or private)."""
    return interaction.response.type == discord.InteractionResponseType.deferred_channel_message


async def tell_privately(interaction: discord.Interaction[Any], **message: Any) -> None:
    """An ephemeral answer, whatever happened to the interaction before: its response if
    none was sent yet; the "thinking" message edited into it if only its user sees that
    message; else a followup.

    Discord turns the first followup after a "thinking" deferral into the thinking message
    itself, as public as the deferral made it, whatever the followup's flags. So a public
    thinking message is settled first, then the answer follows privately, and the settled
    message is removed rather than left behind."""
    if not interaction.response.is_done():
        await interaction.response.send_message(ephemeral=True, **message)
        return
    if thinking(interaction) and not interaction.extras.get(_LOADING_SETTLED):
        interaction.extras[_LOADING_SETTLED] = True
        original = await interaction.original_response()
        if original.flags.loading and original.flags.ephemeral:
            await interaction.edit_original_response(**message)
            return
        if original.flags.loading:
            await interaction.edit_original_response(content=SETTLED)
            await interaction.followup.send(ephemeral=True, **message)
            with contextlib.suppress(discord.HTTPException):
                await interaction.delete_original_response()
            return
    await interaction.followup.send(ephemeral=True, **message)


def ack_wait(waited_s: float, answering: int, budget_s: float) -> float:
    """How long to let an answer get ready before deferring the interaction."""
    if answering > BUSY_INTERACTIONS:
        return 0.0
    return max(0.0, budget_s - waited_s)


class Acknowledger:
    """Keeps every answer inside Discord's deadline, counting the answers under way."""

    def __init__(self, budget_s: float) -> None:
        self.budget_s = budget_s
        self._answering = 0

    async def within_deadline(
        self, interaction: discord.Interaction[Any], work: Awaitable[T], ephemeral: bool = False
    ) -> T:
        """`work`'s result; if it is not ready well inside Discord's 3 s to acknowledge (a
        busy database, hundreds of members at once), the interaction is deferred first
        (`ephemeral`: only its user sees the "thinking" message), and the answer then
        replaces the "thinking" message (slash commands) or follows it."""
        waited = (discord.utils.utcnow() - interaction.created_at).total_seconds()
        self._answering += 1
        try:
            task = asyncio.ensure_future(work)
            done, _ = await asyncio.wait(
                {task}, timeout=ack_wait(waited, self._answering, self.budget_s)
            )
            if not done and not interaction.response.is_done():
                slash = interaction.type == discord.InteractionType.application_command
                await interaction.response.defer(thinking=slash, ephemeral=ephemeral)
            return await task
        finally:
            self._answering -= 1
