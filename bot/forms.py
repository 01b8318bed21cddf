"""Forms (modals) that job buttons open: Remix (edit the prompt before a variation, reroll,
zoom or pan runs) and Custom Zoom (prompt and zoom factor).

A form's custom_id carries everything its submission needs, `ib:rm:<action>:<index>:<job>`
or `ib:cz:<index>:<job>`, so a form opened before a restart still works after it: the bot
handles submissions in on_interaction, not through the form object.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import discord

from bot.errors import UserFacingError
from db import Job

FORM_MAX_CHARS = 4000  # Discord's limit for a text input
_CUSTOM_ID = re.compile(
    r"ib:(?:rm:(?P<action>[a-z0-9]{1,3})|(?P<zoom>cz)):(?P<index>[0-9]):(?P<job>[0-9]+)"
)
_TITLES = {
    "v": "Remix: Variations",
    "vs": "Remix: Vary (Subtle)",
    "vt": "Remix: Vary (Strong)",
    "z2": "Remix: Zoom Out 2x",
    "zh": "Remix: Zoom Out 1.5x",
    "pl": "Remix: Pan Left",
    "pr": "Remix: Pan Right",
    "pu": "Remix: Pan Up",
    "pd": "Remix: Pan Down",
    "sq": "Remix: Make Square",
}


class InvalidZoom(UserFacingError):
    title = "Invalid zoom"


@dataclass(frozen=True)
class FormSubmission:
    action: str
    index: int
    job_id: int
    prompt: str
    zoom: float | None = None  # Custom Zoom only


def remix_form(action: str, index: int, job: Job) -> discord.ui.Modal:
    """The remix form, pre-filled with the job's prompt."""
    form = discord.ui.Modal(
        title=_TITLES.get(action, "Remix: Reroll"),
        custom_id=f"ib:rm:{action}:{index}:{job.id}",
        timeout=15 * 60,
    )
    form.add_item(_prompt_input(job))
    return form


def zoom_form(index: int, job: Job) -> discord.ui.Modal:
    """Custom Zoom: the prompt (editable) and how far to pull back."""
    form = discord.ui.Modal(
        title="Custom Zoom", custom_id=f"ib:cz:{index}:{job.id}", timeout=15 * 60
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


def form_submission(interaction: discord.Interaction[Any]) -> FormSubmission | None:
    """A submitted remix or Custom Zoom form, or None for any other interaction. Raises
    InvalidZoom for a zoom that is not a number from 1.0 to 2.0."""
    if interaction.type != discord.InteractionType.modal_submit or interaction.data is None:
        return None
    match = _CUSTOM_ID.fullmatch(str(interaction.data.get("custom_id", "")))
    if match is None:
        return None
    values = {
        component.get("custom_id"): str(component.get("value", ""))
        for row in interaction.data.get("components", [])  # type: ignore[attr-defined]
        for component in row.get("components", [])
    }
    index, job_id, prompt = int(match["index"]), int(match["job"]), values.get("prompt", "")
    if match["zoom"] is None:
        return FormSubmission(match["action"], index, job_id, prompt)
    return FormSubmission("zc", index, job_id, prompt, _zoom(values.get("zoom", "")))


def _zoom(typed: str) -> float:
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
