"""Who counts as a moderator: checked by the bot itself on every command and button."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import discord


def is_moderator(interaction: discord.Interaction[Any], mod_role_ids: Collection[int]) -> bool:
    """A guild member with Manage Messages from their roles in the guild (the owner and
    administrators included), or with one of the configured moderator roles.

    A channel's permission overwrite does not make a moderator: the interaction's own
    permissions include overwrites, so rights come from the roles the gateway cached with the
    guild (a guild not cached yet: nobody moderates until it is)."""
    member = interaction.user
    if not isinstance(member, discord.Member):
        return False  # DMs: nobody moderates there
    if member.guild_permissions.manage_messages:
        return True
    return any(role.id in mod_role_ids for role in member.roles)
