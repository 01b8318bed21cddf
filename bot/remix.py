"""Remix: with the setting on, a variation or reroll button first opens a form to edit the
prompt (text and flags, e.g. a new --ar or --no), then runs with the edited prompt.

The form's custom_id `ib:rm:<action>:<index>:<job id>` carries everything the submission
needs, so a form opened before a restart still works after it (handled in on_interaction).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import discord

from bot.errors import UserFacingError
from db import Job

FORM_MAX_CHARS = 4000  # Discord's limit for a text input
_CUSTOM_ID = re.compile(r"ib:rm:(?P<action>[a-z]{1,3}):(?P<index>[0-9]):(?P<job>[0-9]+)")
_TITLES = {"v": "Remix: Variations", "vs": "Remix: Vary (Subtle)", "vt": "Remix: Vary (Strong)"}


@dataclass(frozen=True)
class RemixSubmission:
    action: str
    index: int
    job_id: int
    prompt: str


def remix_form(action: str, index: int, job: Job) -> discord.ui.Modal:
    """The form, pre-filled with the job's prompt."""
    if len(job.prompt) > FORM_MAX_CHARS:
        raise UserFacingError(
            f"This prompt has {len(job.prompt)} characters, more than the remix form holds "
            f"({FORM_MAX_CHARS}).",
            hint="Turn remix off in /settings to vary it as it is, or edit it with /imagine.",
        )
    title = _TITLES.get(action, "Remix: Reroll")
    form = discord.ui.Modal(
        title=title, custom_id=f"ib:rm:{action}:{index}:{job.id}", timeout=15 * 60
    )
    form.add_item(
        discord.ui.TextInput(
            label="Prompt (text and parameters)",
            custom_id="prompt",
            style=discord.TextStyle.paragraph,
            default=job.prompt,
            max_length=FORM_MAX_CHARS,
        )
    )
    return form


def remix_submission(interaction: discord.Interaction[Any]) -> RemixSubmission | None:
    """The remix form's contents, or None for any other interaction."""
    if interaction.type != discord.InteractionType.modal_submit or interaction.data is None:
        return None
    match = _CUSTOM_ID.fullmatch(str(interaction.data.get("custom_id", "")))
    if match is None:
        return None
    values = {
        component.get("custom_id"): component.get("value", "")
        for row in interaction.data.get("components", [])  # type: ignore[attr-defined]
        for component in row.get("components", [])
    }
    return RemixSubmission(
        match["action"], int(match["index"]), int(match["job"]), str(values.get("prompt", ""))
    )
