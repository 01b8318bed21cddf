"""Who asks, from an interaction: the plain Origin the services take."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import discord

from bot.delivery.tokens import token_expiry
from bot.permissions import is_moderator
from db import Appeal
from db.models import utcnow
from services.origin import Origin


def origin_of(interaction: discord.Interaction[Any], mod_role_ids: Collection[int]) -> Origin:
    return Origin(
        user_id=interaction.user.id,
        channel_id=interaction.channel_id or 0,
        guild_id=interaction.guild_id,
        interaction_id=interaction.id,
        application_id=interaction.application_id,
        interaction_token=interaction.token,
        reply_expires_at=token_expiry(interaction.created_at),
        is_moderator=is_moderator(interaction, mod_role_ids),
    )


def appeal_origin(appeal: Appeal, application_id: int) -> Origin:
    """The origin of an approved appeal's jobs: its author, where they wrote the prompt;
    keyed by the appeal, as no interaction of theirs asks for them (nor can edit them)."""
    return Origin(
        user_id=appeal.user_id,
        channel_id=appeal.channel_id,
        guild_id=appeal.guild_id,
        interaction_id=-appeal.id,
        application_id=application_id,
        interaction_token="",
        reply_expires_at=utcnow(),
    )
