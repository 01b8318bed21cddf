"""Answers to an interaction after it may have been deferred (bot.app's within_deadline)."""

from __future__ import annotations

import contextlib
from typing import Any

import discord


def thinking(interaction: discord.Interaction[Any]) -> bool:
    """Whether the interaction was deferred with a "thinking" message (public or private)."""
    return interaction.response.type == discord.InteractionResponseType.deferred_channel_message


async def tell_privately(interaction: discord.Interaction[Any], **message: Any) -> None:
    """An ephemeral answer: the interaction's response if none was sent yet, else a followup,
    and then a deferred "thinking" message is removed rather than left behind."""
    if not interaction.response.is_done():
        await interaction.response.send_message(ephemeral=True, **message)
        return
    await interaction.followup.send(ephemeral=True, **message)
    if thinking(interaction):
        with contextlib.suppress(discord.HTTPException):
            await interaction.delete_original_response()
