"""REST API v10 routes of the fake: the calls discord.py makes in normal bot use."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from aiohttp import web

from testing.fakediscord.model import (
    EPHEMERAL,
    LOADING,
    Channel,
    Clock,
    Guild,
    Interaction,
    Message,
    Snowflakes,
    User,
)
from testing.fakediscord.validation import DiscordError, validate_modal

Body = dict[str, Any]
Files = list[tuple[str, bytes, str]]


class FakeDiscord(Protocol):
    """What the routes use of the fake (testing.fakediscord.server.FakeDiscord)."""

    clock: Clock
    snowflakes: Snowflakes
    application_id: int
    bot_user: User
    users: dict[int, User]
    guilds: dict[int, Guild]
    channels: dict[int, Channel]
    all_messages: dict[int, Message]
    interactions: dict[int, Interaction]
    global_commands: list[dict[str, Any]]
    guild_commands: dict[int, list[dict[str, Any]]]

    @property
    def gateway_url(self) -> str: ...
    def dm_channel(self, user: User) -> Channel: ...
    def messages(self, channel: Channel) -> list[Message]: ...
    def new_message(
        self,
        channel_id: int,
        body: Body,
        files: Files,
        *,
        interaction: Interaction | None = None,
        webhook: bool = False,
    ) -> Message: ...
    def apply_body(self, message: Message, body: Body, files: Files, *, creating: bool) -> None: ...
    def _check_bot_auth(self, request: web.Request) -> None: ...


Handler = Callable[[FakeDiscord, web.Request, dict[str, str], Body, Files], Awaitable[Any]]
_ROUTES: list[tuple[str, re.Pattern[str], bool, Handler]] = []


def _route(method: str, pattern: str, bot_auth: bool = True) -> Callable[[Handler], Handler]:
    regex = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern) + "$")

    def register(handler: Handler) -> Handler:
        _ROUTES.append((method, regex, bot_auth, handler))
        return handler

    return register


async def route(fake: FakeDiscord, request: web.Request) -> web.StreamResponse:
    path = "/" + request.match_info["tail"]
    for method, regex, bot_auth, handler in _ROUTES:
        match = regex.match(path)
        if match and method == request.method:
            if bot_auth:
                fake._check_bot_auth(request)
            body, files = await _read_body(request)
            result = await handler(fake, request, match.groupdict(), body, files)
            if result is None:
                return web.Response(status=204)
            return json_response(result)
    raise DiscordError(404, 0, f"404: Not Found ({request.method} {path})")


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """discord.py parses a body as JSON only when Content-Type is exactly application/json."""
    return web.Response(
        status=status,
        body=json.dumps(data).encode(),
        headers={**(headers or {}), "Content-Type": "application/json"},
    )


async def _read_body(request: web.Request) -> tuple[Body, Files]:
    if request.content_type == "multipart/form-data":
        body: Body = {}
        files: Files = []
        reader = await request.multipart()
        async for part in reader:
            if part.name == "payload_json":  # type: ignore[union-attr]
                body = json.loads(await part.text())  # type: ignore[union-attr]
            else:
                data = await part.read()  # type: ignore[union-attr]
                content_type = part.headers.get("Content-Type", "application/octet-stream")  # type: ignore[union-attr]
                files.append((part.filename or "file", bytes(data), content_type))  # type: ignore[union-attr]
        return body, files
    if request.can_read_body:
        text = await request.text()
        return (json.loads(text) if text else {}), []
    return {}, []


# ---------------------------------------------------------------- identity and commands
@_route("GET", "/users/@me")
async def _me(fake: FakeDiscord, request: web.Request, p: dict[str, str], b: Body, f: Files) -> Any:
    return fake.bot_user.payload()


@_route("GET", "/oauth2/applications/@me")
@_route("GET", "/applications/@me")
async def _application(
    fake: FakeDiscord, request: web.Request, p: dict[str, str], b: Body, f: Files
) -> Any:
    owner = next(iter(fake.guilds.values())).owner_id if fake.guilds else fake.bot_user.id
    return {
        "id": str(fake.application_id),
        "name": "imaginebot",
        "icon": None,
        "description": "",
        "bot_public": True,
        "bot_require_code_grant": False,
        "owner": fake.users[owner].payload(),
        "verify_key": "0" * 64,
        "flags": 0,
        "bot": fake.bot_user.payload(),
        "interactions_endpoint_url": None,
        "rpc_origins": [],
        "tags": [],
    }


@_route("GET", "/gateway")
@_route("GET", "/gateway/bot")
async def _gateway_info(
    fake: FakeDiscord, request: web.Request, p: dict[str, str], b: Body, f: Files
) -> Any:
    return {
        "url": fake.gateway_url,
        "shards": 1,
        "session_start_limit": {
            "total": 1000,
            "remaining": 999,
            "reset_after": 0,
            "max_concurrency": 1,
        },
    }


@_route("PUT", "/applications/{app}/commands")
@_route("PUT", "/applications/{app}/guilds/{guild}/commands")
async def _put_commands(
    fake: FakeDiscord, request: web.Request, p: dict[str, str], b: Body, f: Files
) -> Any:
    commands = []
    for command in b if isinstance(b, list) else []:
        stored = {
            **command,
            "id": str(fake.snowflakes.next()),
            "application_id": str(fake.application_id),
            "version": "1",
            "type": command.get("type", 1),
        }
        if "guild" in p:
            stored["guild_id"] = p["guild"]
        commands.append(stored)
    if "guild" in p:
        fake.guild_commands[int(p["guild"])] = commands
    else:
        fake.global_commands = commands
    return commands


@_route("GET", "/applications/{app}/commands")
@_route("GET", "/applications/{app}/guilds/{guild}/commands")
async def _get_commands(
    fake: FakeDiscord, request: web.Request, p: dict[str, str], b: Body, f: Files
) -> Any:
    if "guild" in p:
        return fake.guild_commands.get(int(p["guild"]), [])
    return fake.global_commands


# ---------------------------------------------------------------- interactions
def _interaction_by_id(fake: FakeDiscord, interaction_id: str, token: str) -> Interaction:
    interaction = fake.interactions.get(int(interaction_id))
    if interaction is None or interaction.token != token:
        raise DiscordError(404, 10062, "Unknown interaction")
    return interaction


def _interaction_by_token(fake: FakeDiscord, app: str, token: str) -> Interaction:
    for interaction in fake.interactions.values():
        if interaction.token == token and app == str(fake.application_id):
            if fake.clock.now() - interaction.created > 15 * 60:
                raise DiscordError(401, 50027, "Invalid Webhook Token")
            return interaction
    raise DiscordError(404, 10015, "Unknown Webhook")


@_route("POST", "/interactions/{id}/{token}/callback", bot_auth=False)
async def _callback(
    fake: FakeDiscord, request: web.Request, p: dict[str, str], b: Body, f: Files
) -> Any:
    interaction = _interaction_by_id(fake, p["id"], p["token"])
    if fake.clock.now() - interaction.created > 3.0:
        raise DiscordError(404, 10062, "Unknown interaction")
    if interaction.response_type is not None:
        raise DiscordError(400, 40060, "Interaction has already been acknowledged.")
    kind = int(b.get("type", 0))
    data: Body = b.get("data") or {}
    message: Message | None = None
    if kind == 4:
        message = fake.new_message(
            interaction.channel.id, data, f, interaction=interaction, webhook=True
        )
        interaction.original = message
    elif kind == 5:
        flags = LOADING | (int(data.get("flags") or 0) & EPHEMERAL)
        message = fake.new_message(
            interaction.channel.id, {"flags": flags}, [], interaction=interaction, webhook=True
        )
        message.flags = flags
        interaction.original = message
    elif kind in (6, 7):
        if interaction.type != 3:
            raise DiscordError(400, 40043, "This interaction type cannot be used with an update")
        message = fake.all_messages[int(interaction.payload["message"]["id"])]
        if kind == 7:
            fake.apply_body(message, data, f, creating=False)
        interaction.original = message
    elif kind == 9:
        validate_modal(data)
        interaction.modal = data
    elif kind != 1:
        raise DiscordError(
            400,
            50035,
            "Invalid Form Body",
            errors={"type": {"_errors": [{"code": "BASE_TYPE_CHOICES", "message": "bad type"}]}},
        )
    interaction.response_type = kind
    interaction.responded.set()
    response: Body = {
        "interaction": {
            "id": str(interaction.id),
            "type": interaction.type,
            "response_message_loading": kind == 5,
            "response_message_ephemeral": bool(message and message.ephemeral),
        }
    }
    if message is not None:
        response["interaction"]["response_message_id"] = str(message.id)
        response["resource"] = {"type": kind, "message": message.payload()}
    else:
        response["resource"] = {"type": kind}
    return response


def _webhook_message(interaction: Interaction, message_id: str) -> Message:
    if message_id == "@original":
        if interaction.original is None or interaction.original.deleted:
            raise DiscordError(404, 10008, "Unknown Message")
        return interaction.original
    for message in interaction.messages():
        if message.id == int(message_id) and not message.deleted:
            return message
    raise DiscordError(404, 10008, "Unknown Message")


@_route("POST", "/webhooks/{app}/{token}", bot_auth=False)
async def _followup(
    fake: FakeDiscord, request: web.Request, p: dict[str, str], b: Body, f: Files
) -> Any:
    interaction = _interaction_by_token(fake, p["app"], p["token"])
    if interaction.response_type is None:
        raise DiscordError(400, 10062, "Unknown interaction")  # Discord wants the ack first
    wait = request.query.get("wait") in ("true", "1", "True")
    loading = interaction.original
    if (
        interaction.response_type == 5
        and loading
        and loading.flags & LOADING
        and not loading.deleted
    ):
        # Discord's documented backwards compatibility: a followup right after a "thinking"
        # deferral edits the loading message instead of creating one, and that message
        # stays as visible as the deferral made it, whatever flags the followup asks for.
        fake.apply_body(loading, {k: v for k, v in b.items() if k != "flags"}, f, creating=False)
        return loading.payload() if wait else None
    message = fake.new_message(interaction.channel.id, b, f, interaction=interaction, webhook=True)
    interaction.followups.append(message)
    return message.payload() if wait else None


@_route("GET", "/webhooks/{app}/{token}/messages/{message}", bot_auth=False)
async def _get_webhook_message(
    fake: FakeDiscord, request: web.Request, p: dict[str, str], b: Body, f: Files
) -> Any:
    interaction = _interaction_by_token(fake, p["app"], p["token"])
    return _webhook_message(interaction, p["message"]).payload()


@_route("PATCH", "/webhooks/{app}/{token}/messages/{message}", bot_auth=False)
async def _edit_webhook_message(
    fake: FakeDiscord, request: web.Request, p: dict[str, str], b: Body, f: Files
) -> Any:
    interaction = _interaction_by_token(fake, p["app"], p["token"])
    message = _webhook_message(interaction, p["message"])
    if message.deleted:
        raise DiscordError(404, 10008, "Unknown Message")
    fake.apply_body(message, b, f, creating=False)
    return message.payload()


@_route("DELETE", "/webhooks/{app}/{token}/messages/{message}", bot_auth=False)
async def _delete_webhook_message(
    fake: FakeDiscord, request: web.Request, p: dict[str, str], b: Body, f: Files
) -> Any:
    interaction = _interaction_by_token(fake, p["app"], p["token"])
    _webhook_message(interaction, p["message"]).deleted = True
    return None


# ---------------------------------------------------------------- channels and messages
def _channel(fake: FakeDiscord, channel_id: str) -> Channel:
    channel = fake.channels.get(int(channel_id))
    if channel is None:
        raise DiscordError(404, 10003, "Unknown Channel")
    return channel


def _channel_message(fake: FakeDiscord, channel_id: str, message_id: str) -> Message:
    _channel(fake, channel_id)
    message = fake.all_messages.get(int(message_id))
    if (
        message is None
        or message.deleted
        or message.ephemeral
        or message.channel_id != int(channel_id)
    ):
        raise DiscordError(404, 10008, "Unknown Message")
    return message


@_route("GET", "/channels/{channel}")
async def _get_channel(
    fake: FakeDiscord, request: web.Request, p: dict[str, str], b: Body, f: Files
) -> Any:
    return _channel(fake, p["channel"]).payload()


@_route("POST", "/channels/{channel}/messages")
async def _post_message(
    fake: FakeDiscord, request: web.Request, p: dict[str, str], b: Body, f: Files
) -> Any:
    channel = _channel(fake, p["channel"])
    reference = b.get("message_reference")
    missing = reference and int(reference.get("message_id", 0)) not in fake.all_messages
    if missing and reference.get("fail_if_not_exists", True):
        raise DiscordError(
            400,
            50035,
            "Invalid Form Body",
            errors={
                "message_reference": {
                    "_errors": [{"code": "REPLIES_UNKNOWN_MESSAGE", "message": "Unknown message"}]
                }
            },
        )
    return fake.new_message(channel.id, b, f).payload()


@_route("GET", "/channels/{channel}/messages")
async def _list_messages(
    fake: FakeDiscord, request: web.Request, p: dict[str, str], b: Body, f: Files
) -> Any:
    channel = _channel(fake, p["channel"])
    return [m.payload() for m in reversed(fake.messages(channel))][
        : int(request.query.get("limit", 50))
    ]


@_route("GET", "/channels/{channel}/messages/{message}")
async def _get_message(
    fake: FakeDiscord, request: web.Request, p: dict[str, str], b: Body, f: Files
) -> Any:
    return _channel_message(fake, p["channel"], p["message"]).payload()


@_route("PATCH", "/channels/{channel}/messages/{message}")
async def _edit_message(
    fake: FakeDiscord, request: web.Request, p: dict[str, str], b: Body, f: Files
) -> Any:
    message = _channel_message(fake, p["channel"], p["message"])
    if message.author is not fake.bot_user:
        raise DiscordError(403, 50005, "Cannot edit a message authored by another user")
    fake.apply_body(message, b, f, creating=False)
    return message.payload()


@_route("DELETE", "/channels/{channel}/messages/{message}")
async def _delete_message(
    fake: FakeDiscord, request: web.Request, p: dict[str, str], b: Body, f: Files
) -> Any:
    _channel_message(fake, p["channel"], p["message"]).deleted = True
    return None


@_route("GET", "/guilds/{guild}")
async def _get_guild(
    fake: FakeDiscord, request: web.Request, p: dict[str, str], b: Body, f: Files
) -> Any:
    guild = fake.guilds.get(int(p["guild"]))
    if guild is None:
        raise DiscordError(404, 10004, "Unknown Guild")
    return guild.payload()


@_route("GET", "/guilds/{guild}/members/{user}")
async def _get_member(
    fake: FakeDiscord, request: web.Request, p: dict[str, str], b: Body, f: Files
) -> Any:
    guild = fake.guilds.get(int(p["guild"]))
    member = guild.members.get(int(p["user"])) if guild else None
    if member is None:
        raise DiscordError(404, 10007, "Unknown Member")
    return member.payload()


@_route("GET", "/users/{user}")
async def _get_user(
    fake: FakeDiscord, request: web.Request, p: dict[str, str], b: Body, f: Files
) -> Any:
    user = fake.users.get(int(p["user"])) if p["user"].isdigit() else None
    if user is None:
        raise DiscordError(404, 10013, "Unknown User")
    return user.payload()


@_route("POST", "/users/@me/channels")
async def _open_dm(
    fake: FakeDiscord, request: web.Request, p: dict[str, str], b: Body, f: Files
) -> Any:
    user = fake.users.get(int(b.get("recipient_id", 0)))
    if user is None:
        raise DiscordError(404, 10013, "Unknown User")
    return fake.dm_channel(user).payload()
