"""The interaction router: every component click and form submission whose custom_id is ours
goes to the one handler registered for its kind (bot.ui.custom_ids), a table lookup.

Features register their handlers when their extension loads; the client checks at start-up
that every registered kind of custom_id has a handler, so nothing the bot posts is dead.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import discord

from bot.ui.custom_ids import REGISTRY, CustomId, Registry
from services.errors import JobUnavailable

Interaction = discord.Interaction[Any]
Handler = Callable[[Interaction, dict[str, Any]], Awaitable[None]]
ErrorHandler = Callable[[Interaction, Exception], Awaitable[None]]


class Router:
    def __init__(self, on_error: ErrorHandler, registry: Registry = REGISTRY) -> None:
        self.on_error = on_error
        self.registry = registry
        self._handlers: dict[str, Handler] = {}

    def add(self, kind: CustomId, handler: Handler) -> None:
        """`handler(interaction, fields)` answers every custom_id of `kind`."""
        if self.registry.get(kind.prefix) is not kind:
            raise ValueError(f"custom_id kind {kind.prefix!r} is not registered")
        if kind.prefix in self._handlers:
            raise ValueError(f"custom_id kind {kind.prefix!r} already has a handler")
        self._handlers[kind.prefix] = handler

    def unhandled(self) -> list[str]:
        """Registered kinds of custom_id that nothing answers."""
        return [kind.prefix for kind in self.registry if kind.prefix not in self._handlers]

    def handler_for(self, custom_id: str) -> tuple[Handler, dict[str, Any]] | None:
        """The handler of a custom_id, and its fields; None if it is not ours (any more)."""
        kind = self.registry.kind_of(custom_id)
        if kind is None or kind.prefix not in self._handlers:
            return None
        fields = kind.parse(custom_id)
        assert fields is not None
        return self._handlers[kind.prefix], fields

    async def route(self, interaction: Interaction) -> None:
        custom_id = str((interaction.data or {}).get("custom_id", ""))
        found = self.handler_for(custom_id)
        try:
            if found is None:
                raise JobUnavailable(
                    "This button no longer works.", hint="Use /history to find the job again."
                )
            handler, fields = found
            await handler(interaction, fields)
        except Exception as error:
            await self.on_error(interaction, error)
