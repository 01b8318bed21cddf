"""Who counts as a moderator: checked by the bot itself on every command and button."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import discord


def is_moderator(interaction: discord.Interaction[Any], mod_role_ids: Collection[int]) -> bool:
    """A guild member with Manage Messages, or with one of the configured moderator roles."""
    member = interaction.user
    if not isinstance(member, discord.Member):
        return False  # DMs: nobody moderates there
    # The interaction carries the member's resolved permissions (roles, admin, overwrites), so
    # this does not depend on the guild cache being complete.
    if interaction.permissions.manage_messages:
        return True
    return any(role.id in mod_role_ids for role in member.roles)
