"""A local Discord REST + gateway emulator that unmodified discord.py connects to."""

from testing.fakediscord.model import Channel, Guild, Interaction, Message, Role, User
from testing.fakediscord.server import FakeDiscord

__all__ = ["Channel", "FakeDiscord", "Guild", "Interaction", "Message", "Role", "User"]
