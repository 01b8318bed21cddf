"""A local Discord: REST API v10 and gateway on aiohttp, for real discord.py to connect to.

It enforces the limits that bite bots in production (3 s to acknowledge, 15-minute tokens,
10 MiB uploads, 5x5 components, custom_id <= 100, 2000-character content) with Discord's
own error shapes, and lets a test play users: run slash commands, click buttons, read
messages with their attachments and edit history, advance the clock and inject 429s.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from testing.fakediscord.gateway import Gateway, Session
from testing.fakediscord.model import (
    DEFAULT_PERMISSIONS,
    EPHEMERAL,
    LOADING,
    Attachment,
    Channel,
    Clock,
    Guild,
    Interaction,
    Member,
    Message,
    Role,
    Snowflakes,
    User,
    option_payload,
)
from testing.fakediscord.validation import DiscordError, validate_message

API = "/api/v10"
ACK_DEADLINE_S = 3.0
TOKEN_LIFE_S = 15 * 60
UPLOAD_LIMIT = 10 * 1024 * 1024


@dataclass
class RequestRecord:
    time: float
    method: str
    path: str
    status: int


@dataclass
class _RateLimitRule:
    method: str
    path: re.Pattern[str]
    remaining: int
    retry_after: float


class FakeDiscord(Gateway):
    def __init__(self, token: str = "fake-bot-token") -> None:
        self.token = token
        self.clock = Clock()
        self.snowflakes = Snowflakes(self.clock)
        self.application_id = self.snowflakes.next()
        self.bot_user = User(self.application_id, "imaginebot", bot=True)
        self.users: dict[int, User] = {self.bot_user.id: self.bot_user}
        self.guilds: dict[int, Guild] = {}
        self.channels: dict[int, Channel] = {}
        self.all_messages: dict[int, Message] = {}
        # Files members attached to slash command options (served like message attachments).
        self.uploads: dict[int, Attachment] = {}
        self.interactions: dict[int, Interaction] = {}
        self.global_commands: list[dict[str, Any]] = []
        self.guild_commands: dict[int, list[dict[str, Any]]] = {}
        self.requests: list[RequestRecord] = []
        self._rate_limits: list[_RateLimitRule] = []
        self._sessions: dict[str, Session] = {}
        self._session: Session | None = None
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.port = 0

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        app = web.Application(middlewares=[self._middleware], client_max_size=64 * 1024 * 1024)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get("/attachments/{id}/{filename}", self._attachment)
        app.router.add_route("*", API + "/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        for session in self._sessions.values():
            if session.ws is not None:
                await session.ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_base(self) -> str:
        return self.base_url + API

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    # ------------------------------------------------------------------ world building
    def add_user(self, name: str) -> User:
        user = User(self.snowflakes.next(), name)
        self.users[user.id] = user
        return user

    def add_guild(self, name: str = "Test Server", owner: User | None = None) -> Guild:
        guild_id = self.snowflakes.next()
        owner = owner or self.add_user(f"{name} owner")
        guild = Guild(guild_id, name, owner.id)
        guild.roles.append(Role(guild_id, "@everyone", DEFAULT_PERMISSIONS, position=0))
        self.guilds[guild_id] = guild
        self.add_member(guild, owner)
        self.add_member(guild, self.bot_user)
        self._dispatch_soon("GUILD_CREATE", guild.payload())
        return guild

    def add_channel(self, guild: Guild, name: str = "general") -> Channel:
        channel = Channel(self.snowflakes.next(), name, guild.id)
        guild.channels.append(channel)
        self.channels[channel.id] = channel
        self._dispatch_soon("CHANNEL_CREATE", channel.payload())
        return channel

    def add_role(self, guild: Guild, name: str, permissions: int) -> Role:
        role = Role(self.snowflakes.next(), name, permissions)
        guild.roles.append(role)
        self._dispatch_soon(
            "GUILD_ROLE_CREATE", {"guild_id": str(guild.id), "role": role.payload()}
        )
        return role

    def add_member(self, guild: Guild, user: User, roles: list[Role] | None = None) -> Member:
        member = Member(user, list(roles or []), self.clock.iso())
        guild.members[user.id] = member
        return member

    def delete_channel(self, channel: Channel) -> None:
        """A moderator deletes a channel: its messages go with it."""
        del self.channels[channel.id]
        guild = self.guilds[channel.guild_id] if channel.guild_id is not None else None
        if guild is not None:
            guild.channels.remove(channel)
        for message in self.all_messages.values():
            if message.channel_id == channel.id:
                message.deleted = True
        self._dispatch_soon("CHANNEL_DELETE", channel.payload())

    def allow_in_channel(self, channel: Channel, user: User, permissions: int) -> None:
        """A member permission overwrite: `user` gets `permissions` in this channel only."""
        channel.overwrites[user.id] = permissions
        self._dispatch_soon("CHANNEL_UPDATE", channel.payload())

    def dm_channel(self, user: User) -> Channel:
        for channel in self.channels.values():
            if channel.guild_id is None and channel.recipient is user:
                return channel
        channel = Channel(self.snowflakes.next(), "", None, recipient=user)
        self.channels[channel.id] = channel
        return channel

    # ------------------------------------------------------------------ playing users
    def upload(self, filename: str, data: bytes, content_type: str = "image/png") -> Attachment:
        """A file a member attaches to a slash command option: pass it as the option's value."""
        attachment = self._attachment_of(filename, data, content_type)
        self.uploads[attachment.id] = attachment
        return attachment

    def _attachment_of(self, filename: str, data: bytes, content_type: str) -> Attachment:
        attachment_id = self.snowflakes.next()
        url = f"{self.base_url}/attachments/{attachment_id}/{filename}"
        return Attachment(attachment_id, filename, data, content_type, url)

    async def slash(
        self, user: User, channel: Channel, name: str, /, *subcommands: str, **options: Any
    ) -> Interaction:
        """Run `/name [subcommand...] option:value...` as `user` in `channel`."""
        command = self._find_command(name, channel.guild_id)
        resolved: dict[str, dict[str, Any]] = {}
        guild = self.guilds.get(channel.guild_id or 0)
        built = [option_payload(guild, k, v, resolved) for k, v in options.items()]
        for sub in reversed(subcommands):
            built = [{"name": sub, "type": 1, "options": built}]
        data: dict[str, Any] = {
            "id": command["id"],
            "name": name,
            "type": 1,
            "options": built,
        }
        if channel.guild_id is not None:
            data["guild_id"] = str(channel.guild_id)
        if resolved:
            data["resolved"] = resolved
        return await self._interact(user, channel, 2, data)

    async def click(self, user: User, message: Message, custom_id: str) -> Interaction:
        """Press the button with `custom_id` on `message` as `user`."""
        if custom_id not in message.buttons().values():
            raise KeyError(f"message {message.id} has no button {custom_id!r}")
        data = {"custom_id": custom_id, "component_type": 2}
        channel = self.channels[message.channel_id]
        return await self._interact(user, channel, 3, data, message=message)

    async def select(
        self, user: User, message: Message, custom_id: str, values: list[str]
    ) -> Interaction:
        """Pick `values` in the select menu `custom_id` on `message` as `user`."""
        menu = message.selects().get(custom_id)
        if menu is None:
            raise KeyError(f"message {message.id} has no select menu {custom_id!r}")
        offered = {option["value"] for option in menu.get("options", [])}
        if not set(values) <= offered:
            raise ValueError(f"{values} are not all among the options {sorted(offered)}")
        data = {"custom_id": custom_id, "component_type": 3, "values": values}
        channel = self.channels[message.channel_id]
        return await self._interact(user, channel, 3, data, message=message)

    async def submit_modal(
        self, user: User, opened_by: Interaction, values: dict[str, str]
    ) -> Interaction:
        assert opened_by.modal is not None, "that interaction did not open a modal"
        rows = [
            {"type": 1, "components": [{"type": 4, "custom_id": k, "value": v}]}
            for k, v in values.items()
        ]
        data = {"custom_id": opened_by.modal["custom_id"], "components": rows}
        return await self._interact(user, opened_by.channel, 5, data)

    async def _interact(
        self,
        user: User,
        channel: Channel,
        kind: int,
        data: dict[str, Any],
        message: Message | None = None,
    ) -> Interaction:
        interaction_id = self.snowflakes.next()
        token = f"itoken.{interaction_id}.{secrets.token_hex(8)}"
        payload: dict[str, Any] = {
            "id": str(interaction_id),
            "application_id": str(self.application_id),
            "type": kind,
            "data": data,
            "channel": channel.payload(),
            "channel_id": str(channel.id),
            "token": token,
            "version": 1,
            "locale": "en-US",
            "entitlements": [],
            "attachment_size_limit": UPLOAD_LIMIT,
            "app_permissions": str(DEFAULT_PERMISSIONS),
        }
        if channel.guild_id is not None:
            guild = self.guilds[channel.guild_id]
            member = guild.members.get(user.id) or self.add_member(guild, user)
            payload["guild_id"] = str(guild.id)
            payload["guild_locale"] = "en-US"
            payload["member"] = {
                **member.payload(),
                "permissions": str(
                    guild.permissions_of(user.id) | channel.overwrites.get(user.id, 0)
                ),
            }
            payload["authorizing_integration_owners"] = {"0": str(guild.id)}
            payload["context"] = 0
        else:
            payload["user"] = user.payload()
            payload["authorizing_integration_owners"] = {"1": str(user.id)}
            payload["context"] = 1
        if message is not None:
            payload["message"] = message.payload()
        interaction = Interaction(
            interaction_id, token, kind, user, channel, self.clock.now(), payload
        )
        self.interactions[interaction_id] = interaction
        await self._dispatch("INTERACTION_CREATE", payload)
        return interaction

    # ------------------------------------------------------------------ reading state
    def messages(self, channel: Channel) -> list[Message]:
        """Visible messages of a channel, oldest first (no ephemerals, no deleted)."""
        return [
            m
            for m in self.all_messages.values()
            if m.channel_id == channel.id and not m.deleted and not m.ephemeral
        ]

    def ephemerals(self, user: User) -> list[Message]:
        return [
            m
            for i in self.interactions.values()
            if i.user is user
            for m in i.messages()
            if m.ephemeral
        ]

    def commands(self, guild: Guild | None = None) -> list[dict[str, Any]]:
        return self.global_commands if guild is None else self.guild_commands.get(guild.id, [])

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 30.0) -> Any:
        """Wait until `predicate()` is truthy; return its value. Re-checked on every request
        the fake serves and at least every 50 ms (for conditions on the bot's own state)."""

        async def until() -> Any:
            async with self._changed:
                while True:
                    value = predicate()
                    if value:
                        return value
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._changed.wait(), 0.05)

        try:
            return await asyncio.wait_for(until(), timeout)
        except TimeoutError:
            raise AssertionError(f"condition not met within {timeout} s") from None

    async def wait_until_ready(self, timeout: float = 30.0) -> None:
        await self.wait_for(
            lambda: self._session is not None and self._session.ws is not None, timeout
        )

    # ------------------------------------------------------------------ test controls
    def advance(self, seconds: float) -> None:
        self.clock.offset += seconds

    def inject_429(
        self, method: str, path_regex: str, count: int = 1, retry_after: float = 0.2
    ) -> None:
        self._rate_limits.append(
            _RateLimitRule(method.upper(), re.compile(path_regex), count, retry_after)
        )

    async def drop_gateway(self) -> None:
        """Close the bot's websocket as Discord does on a reconnect request (it resumes)."""
        session = self._session
        if session is not None and session.ws is not None:
            ws, session.ws = session.ws, None
            await ws.close(code=4000, message=b"dropped by test")

    def rest_calls(self, since: float = 0.0) -> list[RequestRecord]:
        return [r for r in self.requests if r.time >= since]

    # ------------------------------------------------------------------ internals
    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def _find_command(self, name: str, guild_id: int | None) -> dict[str, Any]:
        pools = [self.guild_commands.get(guild_id, [])] if guild_id else []
        for pool in [*pools, self.global_commands]:
            for command in pool:
                if command["name"] == name:
                    return command
        raise KeyError(f"the bot has not registered /{name}")

    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        path = request.path
        try:
            if path.startswith(API):
                self._check_rate_limit(request.method, path[len(API) :])
                response = await handler(request)
            else:
                response = await handler(request)
        except DiscordError as error:
            response = error.response()
        if path.startswith(API):
            self.requests.append(
                RequestRecord(self.clock.now(), request.method, path[len(API) :], response.status)
            )
            await self._notify()
        return response

    def _check_rate_limit(self, method: str, path: str) -> None:
        for rule in self._rate_limits:
            if rule.remaining > 0 and rule.method == method and rule.path.search(path):
                rule.remaining -= 1
                raise DiscordError(
                    429,
                    0,
                    "You are being rate limited.",
                    extra={"retry_after": rule.retry_after, "global": False},
                    headers={
                        "Retry-After": str(rule.retry_after),
                        "X-RateLimit-Limit": "5",
                        "X-RateLimit-Remaining": "0",
                        "X-RateLimit-Reset-After": str(rule.retry_after),
                        "X-RateLimit-Bucket": "fake-bucket",
                        "X-RateLimit-Scope": "user",
                        # discord.py reads a 429 without Via as a Cloudflare ban.
                        "Via": "1.1 google",
                    },
                )

    async def _attachment(self, request: web.Request) -> web.StreamResponse:
        wanted = int(request.match_info["id"])
        posted = (a for m in self.all_messages.values() for a in m.attachments if a.id == wanted)
        found = self.uploads.get(wanted) or next(posted, None)
        if found is None:
            raise web.HTTPNotFound()
        return web.Response(body=found.data, content_type=found.content_type)

    # ------------------------------------------------------------------ REST
    async def _rest(self, request: web.Request) -> web.StreamResponse:
        from testing.fakediscord.rest import route

        return await route(self, request)

    def _check_bot_auth(self, request: web.Request) -> None:
        if request.headers.get("Authorization") != f"Bot {self.token}":
            raise DiscordError(401, 0, "401: Unauthorized")

    def new_message(
        self,
        channel_id: int,
        body: dict[str, Any],
        files: list[tuple[str, bytes, str]],
        *,
        interaction: Interaction | None = None,
        webhook: bool = False,
    ) -> Message:
        channel = self.channels.get(channel_id)
        if channel is None:
            raise DiscordError(404, 10003, "Unknown Channel")
        message = Message(
            id=self.snowflakes.next(),
            channel_id=channel_id,
            guild_id=channel.guild_id,
            author=self.bot_user,
            timestamp=self.clock.iso(),
            interaction_id=interaction.id if interaction else None,
            webhook_id=self.application_id if webhook else None,
        )
        self.apply_body(message, body, files, creating=True)
        self.all_messages[message.id] = message
        return message

    def apply_body(
        self,
        message: Message,
        body: dict[str, Any],
        files: list[tuple[str, bytes, str]],
        *,
        creating: bool,
    ) -> None:
        """Validate then apply a create/edit body (with its uploaded files) to a message."""
        validate_message(body, files, UPLOAD_LIMIT)
        if not creating:
            message.edits.append(message.snapshot())
            message.edited_timestamp = self.clock.iso()
        if "content" in body:
            message.content = body["content"] or ""
        if "allowed_mentions" in body:
            message.allowed_mentions = body["allowed_mentions"]
        if "embeds" in body:
            message.embeds = body["embeds"] or []
        if "components" in body:
            message.components = body["components"] or []
        if "flags" in body and body["flags"] is not None:
            keep_loading = message.flags & EPHEMERAL
            message.flags = (int(body["flags"]) & ~LOADING) | keep_loading
        elif not creating:
            message.flags &= ~LOADING
        if creating and body.get("message_reference"):
            message.reference = body["message_reference"]
        if "attachments" in body or files:
            message.attachments = self._attachments(message, body.get("attachments"), files)

    def _attachments(
        self,
        message: Message,
        listed: list[dict[str, Any]] | None,
        files: list[tuple[str, bytes, str]],
    ) -> list[Attachment]:
        kept = []
        if listed is not None:
            existing = {a.id: a for a in message.attachments}
            kept = [existing[int(a["id"])] for a in listed if int(a["id"]) in existing]
        return kept + [self._attachment_of(*file) for file in files]
