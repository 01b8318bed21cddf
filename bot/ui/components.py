"""Buttons and menus whose clicks reach the router (bot.router), after restarts too.

One DynamicItem matches every custom_id of ours: discord.py hands each click to it, and it
hands the click to the router, which finds the handler from the custom_id's kind. Views made
of these items are not kept in discord.py's view store (they need no memory per message).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, cast

import discord
from discord.ui import Button, DynamicItem, Item, Select

from bot.ui.custom_ids import ANY_TEMPLATE

if TYPE_CHECKING:
    from bot.router import Router


class Routed(DynamicItem[Item[Any]], template=ANY_TEMPLATE):
    def __init__(self, item: Item[Any]) -> None:
        super().__init__(item)

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: Item[Any], match: re.Match[str]
    ) -> Routed:
        return cls(item)

    async def callback(self, interaction: discord.Interaction[Any]) -> None:  # type: ignore[override]
        router = cast("Router", interaction.client.router)  # type: ignore[attr-defined]
        await router.route(interaction)


def button(
    custom_id: str,
    *,
    label: str | None = None,
    emoji: str | None = None,
    style: discord.ButtonStyle = discord.ButtonStyle.secondary,
    disabled: bool = False,
    row: int | None = None,
) -> Routed:
    return Routed(
        Button(
            custom_id=custom_id,
            label=label,
            emoji=emoji,
            style=style,
            disabled=disabled,
            row=row,
        )
    )


def menu(custom_id: str, placeholder: str, options: list[discord.SelectOption]) -> Routed:
    return Routed(
        Select(
            custom_id=custom_id,
            placeholder=placeholder,
            min_values=1,
            max_values=1,
            options=options,
        )
    )
