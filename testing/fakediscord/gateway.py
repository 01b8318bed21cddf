"""The fake's gateway: the websocket discord.py connects to (HELLO, IDENTIFY, READY with
the guilds, RESUME after a dropped connection, heartbeats) and the events sent on it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import WSMsgType, web

from testing.fakediscord.model import Guild, User

HEARTBEAT_MS = 41_250


class Session:
    """A gateway session: survives a dropped connection so the bot can RESUME it."""

    def __init__(self, session_id: str) -> None:
        self.id = session_id
        self.seq = 0
        self.sent: list[dict[str, Any]] = []
        self.ws: web.WebSocketResponse | None = None


class Gateway:
    """The gateway half of FakeDiscord (which sets these attributes up)."""

    token: str
    application_id: int
    bot_user: User
    guilds: dict[int, Guild]
    _sessions: dict[str, Session]
    _session: Session | None

    gateway_url: str
    _notify: Callable[[], Awaitable[None]]

    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(autoping=True, max_msg_size=0)
        await ws.prepare(request)
        await ws.send_str(
            json.dumps({"op": 10, "d": {"heartbeat_interval": HEARTBEAT_MS}, "s": None, "t": None})
        )
        session: Session | None = None
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            frame = json.loads(msg.data)
            op = frame.get("op")
            if op == 1:
                await ws.send_str(json.dumps({"op": 11, "d": None}))
            elif op == 2:
                session = await self._identify(ws, frame["d"])
                if session is None:
                    break
            elif op == 6:
                session = await self._resume(ws, frame["d"])
        if session is not None and session.ws is ws:
            session.ws = None
        return ws

    async def _identify(self, ws: web.WebSocketResponse, data: dict[str, Any]) -> Session | None:
        if data.get("token") != self.token:
            await ws.close(code=4004, message=b"Authentication failed.")
            return None
        session = Session(secrets.token_hex(16))
        self._sessions[session.id] = session
        self._session = session
        session.ws = ws
        ready = {
            "v": 10,
            "user": self.bot_user.payload(),
            "guilds": [{"id": str(g), "unavailable": True} for g in self.guilds],
            "session_id": session.id,
            "resume_gateway_url": self.gateway_url,
            "application": {"id": str(self.application_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "user_settings": {},
            "presences": [],
            "geo_ordered_rtc_regions": [],
            "shard": [0, 1],
        }
        await self._send(session, "READY", ready)
        for guild in self.guilds.values():
            await self._send(session, "GUILD_CREATE", guild.payload())
        await self._notify()
        return session

    async def _resume(self, ws: web.WebSocketResponse, data: dict[str, Any]) -> Session | None:
        session = self._sessions.get(data.get("session_id", ""))
        if session is None or data.get("token") != self.token:
            await ws.send_str(json.dumps({"op": 9, "d": False}))
            return None
        session.ws = ws
        self._session = session
        missed = [frame for frame in session.sent if frame["s"] > int(data.get("seq") or 0)]
        for frame in missed:
            await ws.send_str(json.dumps(frame))
        await self._send(session, "RESUMED", {})
        await self._notify()
        return session

    async def _send(self, session: Session, event: str, data: dict[str, Any]) -> None:
        session.seq += 1
        frame = {"op": 0, "t": event, "s": session.seq, "d": data}
        session.sent.append(frame)
        if session.ws is not None and not session.ws.closed:
            with contextlib.suppress(ConnectionResetError):
                await session.ws.send_str(json.dumps(frame))

    async def _dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send an event to the bot; while it is reconnecting the event waits for RESUME."""
        if self._session is not None:
            await self._send(self._session, event, data)

    def _dispatch_soon(self, event: str, data: dict[str, Any]) -> None:
        if self._session is not None:
            asyncio.get_running_loop().create_task(self._dispatch(event, data))
