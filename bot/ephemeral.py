"""Answers to an interaction after it may have been deferred (bot.app's within_deadline)."""

from __future__ import annotations

import contextlib
from typing import Any

import discord

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
