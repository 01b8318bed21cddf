"""Point discord.py at another Discord endpoint (a local emulator in tests)."""

from __future__ import annotations

import discord.gateway
import discord.http
import yarl


def point_at(api_base: str | None, gateway_url: str | None) -> None:
    """discord.py reads Route.BASE for every REST call and a plain Client connects straight to
    DEFAULT_GATEWAY, so these two class attributes are all it takes."""
    if api_base:
        discord.http.Route.BASE = api_base.rstrip("/")  # type: ignore[misc]
    if gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)
