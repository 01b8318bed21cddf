"""Forms (modals) that job buttons open: Remix (edit the prompt before a variation, reroll,
zoom or pan runs) and Custom Zoom (prompt and zoom factor).

A form's custom_id carries everything its submission needs, `ib:rm:<key>:<index>:<job>` or
`ib:cz:<index>:<job>`, so a form opened before a restart still works after it: submissions
reach the router like clicks, not the form object.
"""

from __future__ import annotations

from typing import Any

import discord

from bot.ui.custom_ids import choice, digit, register, snowflake
from db import Job
from inference.operations import BY_KEY, OPERATIONS, Operation
from services.errors import InvalidZoom, UserFacingError

FORM_MAX_CHARS = 4000  # Discord's limit for a text input
FORM_LIFETIME_S = 15 * 60
REMIX = register(
    "rm",
    choice("key", *(op.key for op in OPERATIONS if op.remix)),
    digit("index", 9),
    snowflake("job"),
)
CUSTOM_ZOOM = register("cz", digit("index", 9), snowflake("job"))


def remix_form(op: Operation, index: int, job: Job) -> discord.ui.Modal:
    """The remix form of button `op`, pre-filled with the job's prompt."""
    form = discord.ui.Modal(
        title=op.title, custom_id=REMIX.make(op.key, index, job.id), timeout=FORM_LIFETIME_S
    )
    form.add_item(_prompt_input(job))
    return form


def zoom_form(index: int, job: Job) -> discord.ui.Modal:
    """Custom Zoom: the prompt (editable) and how far to pull back."""
    form = discord.ui.Modal(
        title=BY_KEY["zc"].title,
        custom_id=CUSTOM_ZOOM.make(index, job.id),
        timeout=FORM_LIFETIME_S,
    )
    form.add_item(_prompt_input(job))
    form.add_item(
        discord.ui.TextInput(
            label="Zoom out (1.0 to 2.0)", custom_id="zoom", default="2", max_length=8
        )
    )
    return form


def _prompt_input(job: Job) -> discord.ui.TextInput[Any]:
    if len(job.prompt) > FORM_MAX_CHARS:
        raise UserFacingError(
            f"This prompt has {len(job.prompt)} characters, more than a form holds "
            f"({FORM_MAX_CHARS}).",
            hint="Turn remix off in /settings to use the button as it is, or use /imagine.",
        )
    return discord.ui.TextInput(
        label="Prompt (text and parameters)",
        custom_id="prompt",
        style=discord.TextStyle.paragraph,
        default=job.prompt,
        max_length=FORM_MAX_CHARS,
    )


def submitted(interaction: discord.Interaction[Any]) -> dict[str, str]:
    """The text inputs of a submitted form, by their custom_id."""
    data: Any = interaction.data or {}
    return {
        component.get("custom_id"): str(component.get("value", ""))
        for row in data.get("components", [])
        for component in row.get("components", [])
    }


def zoom_factor(typed: str) -> float:
    """The Custom Zoom form's factor; InvalidZoom unless it is a number from 1.0 to 2.0."""
    try:
        zoom = float(typed.strip())
    except ValueError:
        zoom = float("nan")
    if not 1.0 <= zoom <= 2.0:  # also refuses nan
        raise InvalidZoom(
            f"Zoom must be a number from 1.0 to 2.0, got {typed.strip()!r}.",
            hint="Press Custom Zoom again and type e.g. 1.5.",
        )
    return zoom
