"""/settings in Discord: four menus (model, stylize, quality, speed) and a row of toggles."""

from __future__ import annotations

from typing import Any

import discord
from discord.ui import View

from bot.ui.components import button, menu
from bot.ui.custom_ids import choice, register, snowflake
from db import Prefs
from services.preferences import MENUS, TOGGLES

MENU = register("set", choice("field", "model", *MENUS), snowflake("user"))
TOGGLE = register("tog", choice("field", *TOGGLES), snowflake("user"))


def settings_text(
    prefs: Prefs, models: list[str], stealth_here: bool = True, skipped: list[str] | None = None
) -> str:
    flags = ", ".join(f"{k} {v}" for k, v in sorted(prefs.settings.items())) or "built-in defaults"
    visibility = "stealth" if prefs.stealth else "public"
    if prefs.stealth and not stealth_here:
        visibility += " (off on this server: your jobs here are public)"
    model = prefs.model or models[0]
    unused = (
        f" {model} cannot use {', '.join(skipped)} from your settings and suffix, so your "
        "jobs on it skip them (typed in a prompt, they are refused)."
        if skipped
        else ""
    )
    return (
        f"**Your settings:** model {model}, {flags}; "
        f"remix {'on' if prefs.remix else 'off'}; {visibility}. "
        f"Flags typed in a prompt still win.{unused}"
    )


def settings_view(user_id: int, prefs: Prefs, models: list[str]) -> View:
    """Five rows: a menu each for model, stylize, quality and speed, then the toggles."""
    view = View(timeout=None)
    menus: list[tuple[str, str, list[tuple[str, Any]], Any]] = [
        ("model", "Model", [(f"Model: {name}", name) for name in models], prefs.model or models[0])
    ]
    menus += [
        (field, placeholder, choices, prefs.settings.get(field))
        for field, (placeholder, choices) in MENUS.items()
    ]
    for field, placeholder, choices, chosen in menus:
        options = [
            discord.SelectOption(label=label, value=str(value), default=chosen == value)
            for label, value in choices
        ]
        view.add_item(menu(MENU.make(field, user_id), placeholder, options))
    for field, on in (("remix", prefs.remix), ("stealth", prefs.stealth)):
        style = discord.ButtonStyle.success if on else discord.ButtonStyle.secondary
        view.add_item(button(TOGGLE.make(field, user_id), label=TOGGLES[field][on], style=style))
    return view
