"""The fake's world: users, guilds, channels, messages and interactions, as Discord shapes them."""

from __future__ import annotations

import asyncio
import copy
import itertools
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

DISCORD_EPOCH_MS = 1_420_070_400_000
EPHEMERAL = 1 << 6
LOADING = 1 << 7
MANAGE_MESSAGES = 1 << 13
DEFAULT_PERMISSIONS = 0x0000_0000_0006_4C40  # view, send, embed, attach, read history...


class Clock:
    """Real time plus an offset the test can advance (token expiry without waiting)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return time.time() + self.offset

    def iso(self) -> str:
        return datetime.fromtimestamp(self.now(), UTC).isoformat()


class Snowflakes:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._counter = itertools.count()

    def next(self) -> int:
        ms = int(self.clock.now() * 1000) - DISCORD_EPOCH_MS
        return (ms << 22) | (next(self._counter) % 4096)


@dataclass
class User:
    id: int
    name: str
    bot: bool = False

    def payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "username": self.name,
            "global_name": self.name,
            "discriminator": "0",
            "avatar": None,
            "bot": self.bot,
            "public_flags": 0,
            "flags": 0,
        }


@dataclass
class Role:
    id: int
    name: str
    permissions: int
    position: int = 1

    def payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "name": self.name,
            "permissions": str(self.permissions),
            "position": self.position,
            "color": 0,
            "hoist": False,
            "managed": False,
            "mentionable": False,
            "flags": 0,
        }


@dataclass
class Channel:
    id: int
    name: str
    guild_id: int | None  # None: a DM channel
    recipient: User | None = None
    overwrites: dict[int, int] = field(default_factory=dict)  # member id -> allowed bits

    def payload(self) -> dict[str, Any]:
        if self.guild_id is None:
            assert self.recipient is not None
            return {"id": str(self.id), "type": 1, "recipients": [self.recipient.payload()]}
        return {
            "id": str(self.id),
            "type": 0,
            "name": self.name,
            "guild_id": str(self.guild_id),
            "position": 0,
            "permission_overwrites": [
                {"id": str(member), "type": 1, "allow": str(allow), "deny": "0"}
                for member, allow in self.overwrites.items()
            ],
            "nsfw": False,
            "parent_id": None,
            "topic": None,
            "rate_limit_per_user": 0,
            "last_message_id": None,
        }


@dataclass
class Member:
    user: User
    roles: list[Role]
    joined_at: str

    def payload(self, with_user: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {
            "roles": [str(r.id) for r in self.roles],
            "joined_at": self.joined_at,
            "nick": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "avatar": None,
            "communication_disabled_until": None,
        }
        if with_user:
            data["user"] = self.user.payload()
        return data


@dataclass
class Guild:
    id: int
    name: str
    owner_id: int
    roles: list[Role] = field(default_factory=list)
    channels: list[Channel] = field(default_factory=list)
    members: dict[int, Member] = field(default_factory=dict)

    @property
    def everyone(self) -> Role:
        return self.roles[0]

    def permissions_of(self, user_id: int) -> int:
        if user_id == self.owner_id:
            return (1 << 53) - 1
        member = self.members.get(user_id)
        roles = [self.everyone, *(member.roles if member else [])]
        value = 0
        for role in roles:
            value |= role.permissions
        return (1 << 53) - 1 if value & 0x8 else value

    def payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "owner_id": str(self.owner_id),
            "roles": [r.payload() for r in self.roles],
            "channels": [c.payload() for c in self.channels],
            "members": [m.payload() for m in self.members.values()],
            "member_count": len(self.members),
            "large": False,
            "unavailable": False,
            "features": [],
            "emojis": [],
            "stickers": [],
            "threads": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "voice_states": [],
            "presences": [],
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "premium_tier": 0,
            "preferred_locale": "en-US",
            "system_channel_flags": 0,
            "nsfw_level": 0,
            "afk_timeout": 300,
        }


@dataclass
class Attachment:
    id: int
    filename: str
    data: bytes
    content_type: str
    url: str

    def payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "filename": self.filename,
            "size": len(self.data),
            "url": self.url,
            "proxy_url": self.url,
            "content_type": self.content_type,
        }


@dataclass
class Message:
    """A message as the fake stores it; `edits` keeps every earlier version."""

    id: int
    channel_id: int
    guild_id: int | None
    author: User
    timestamp: str
    content: str = ""
    embeds: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    flags: int = 0
    reference: dict[str, Any] | None = None
    interaction_id: int | None = None
    webhook_id: int | None = None
    edited_timestamp: str | None = None
    allowed_mentions: dict[str, Any] | None = None
    deleted: bool = False
    edits: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & EPHEMERAL)

    def snapshot(self) -> dict[str, Any]:
        return {
            "content": self.content,
            "embeds": copy.deepcopy(self.embeds),
            "components": copy.deepcopy(self.components),
            "attachments": [a.filename for a in self.attachments],
            "flags": self.flags,
        }

    def selects(self) -> dict[str, dict[str, Any]]:
        """Select menus by custom_id."""
        return {
            c["custom_id"]: c
            for row in self.components
            for c in row.get("components", [])
            if c.get("type") == 3
        }

    def buttons(self) -> dict[str, str]:
        """Button label (or emoji name) -> custom_id."""
        out: dict[str, str] = {}
        for row in self.components:
            for button in row.get("components", []):
                if button.get("type") != 2:
                    continue
                key = button.get("label") or (button.get("emoji") or {}).get("name", "")
                out[key] = button.get("custom_id", "")
        return out

    def links(self) -> dict[str, str]:
        """Link button label -> url."""
        return {
            button.get("label", ""): button["url"]
            for row in self.components
            for button in row.get("components", [])
            if button.get("type") == 2 and button.get("style") == 5
        }

    def button(self, label: str) -> str:
        buttons = self.buttons()
        if label not in buttons:
            raise KeyError(f"no button {label!r} on message {self.id}; buttons: {list(buttons)}")
        return buttons[label]

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "channel_id": str(self.channel_id),
            "author": self.author.payload(),
            "content": self.content,
            "timestamp": self.timestamp,
            "edited_timestamp": self.edited_timestamp,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [a.payload() for a in self.attachments],
            "embeds": self.embeds,
            "components": self.components,
            "pinned": False,
            "type": 19 if self.reference else (20 if self.interaction_id else 0),
            "flags": self.flags,
        }
        if self.guild_id is not None:
            data["guild_id"] = str(self.guild_id)
        if self.webhook_id is not None:
            data["webhook_id"] = str(self.webhook_id)
        if self.reference is not None:
            data["message_reference"] = self.reference
        return data


@dataclass
class Interaction:
    """One interaction the fake sent to the bot, and everything the bot answered."""

    id: int
    token: str
    type: int
    user: User
    channel: Channel
    created: float
    payload: dict[str, Any]
    response_type: int | None = None
    original: Message | None = None
    followups: list[Message] = field(default_factory=list)
    modal: dict[str, Any] | None = None
    responded: asyncio.Event = field(default_factory=asyncio.Event)

    async def wait_for_response(self, timeout: float = 10.0) -> int:
        await asyncio.wait_for(self.responded.wait(), timeout)
        assert self.response_type is not None
        return self.response_type

    @property
    def ephemeral(self) -> bool:
        return self.original is not None and self.original.ephemeral

    def messages(self) -> list[Message]:
        return [m for m in [self.original, *self.followups] if m is not None]


def option_payload(
    guild: Guild | None, name: str, value: Any, resolved: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """A slash command option as Discord sends it; users, channels and attached files go
    into `resolved`."""
    if isinstance(value, Attachment):
        resolved.setdefault("attachments", {})[str(value.id)] = value.payload()
        return {"name": name, "type": 11, "value": str(value.id)}
    if isinstance(value, User):
        resolved.setdefault("users", {})[str(value.id)] = value.payload()
        if guild is not None and value.id in guild.members:
            member = guild.members[value.id].payload(with_user=False)
            member["permissions"] = str(guild.permissions_of(value.id))
            resolved.setdefault("members", {})[str(value.id)] = member
        return {"name": name, "type": 6, "value": str(value.id)}
    if isinstance(value, Channel):
        data = {**value.payload(), "permissions": str((1 << 53) - 1)}
        resolved.setdefault("channels", {})[str(value.id)] = data
        return {"name": name, "type": 7, "value": str(value.id)}
    if isinstance(value, bool):
        return {"name": name, "type": 5, "value": value}
    if isinstance(value, int):
        return {"name": name, "type": 4, "value": value}
    if isinstance(value, float):
        return {"name": name, "type": 10, "value": value}
    return {"name": name, "type": 3, "value": str(value)}
