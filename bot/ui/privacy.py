"""/privacy delete in Discord: erase everything, or keep it."""

from __future__ import annotations

import discord
from discord.ui import View

from bot.ui.components import button
from bot.ui.custom_ids import flag, register, snowflake

ERASE = register("er", snowflake("user"), flag("go"))


def erase_view(user_id: int) -> View:
    view = View(timeout=None)
    view.add_item(
        button(
            ERASE.make(user_id, True), label="Erase everything", style=discord.ButtonStyle.danger
        )
    )
    view.add_item(button(ERASE.make(user_id, False), label="Keep my data"))
    return view
