"""A local Discord REST + gateway emulator that unmodified discord.py connects to."""

from tests.fakediscord.model import Channel, Guild, Interaction, Message, Role, User
from tests.fakediscord.server import FakeDiscord

__all__ = ["Channel", "FakeDiscord", "Guild", "Interaction", "Message", "Role", "User"]
