"""The buttons of a job's message: Cancel while it waits, then the operations of
inference.operations on the result (U1-U4, reroll, V1-V4 on a grid; upscale, vary, zoom,
pan and make square on one image), ❤️, 🗑️ and ✉️ (details); Yes / No for a held batch.

Every custom_id is `ib:<key>:<index>:<job>`: all the state a click needs, so the buttons
keep working after a restart; the click reloads the job and re-checks who may press it.
"""

from __future__ import annotations

import discord
from discord.ui import View

from bot.ui.components import button
from bot.ui.custom_ids import CustomId, digit, register, snowflake
from db import Job
from inference.operations import OPERATIONS, UPSCALE_ACTIONS, JobAction, Operation, kind_of

INDEX, JOB = digit("index", 4), snowflake("job")
# The operations' custom_ids, by operation key.
OPERATION_IDS: dict[str, CustomId] = {op.key: register(op.key, INDEX, JOB) for op in OPERATIONS}
CANCEL = register("x", INDEX, JOB)
FAVOURITE = register("fav", INDEX, JOB)
DELETE = register("del", INDEX, JOB)
DETAILS = register("dt", INDEX, JOB)  # the parameters and seeds, privately (Midjourney's ✉️)
CONFIRM = register("ok", INDEX, JOB)  # a held batch: the job is any job of it
DECLINE = register("no", INDEX, JOB)
# Vary (Region): answers privately with a link to the web companion's editor.
VARY_REGION = register("vrg", JOB)


def operation_button(
    op: Operation, index: int, job: Job, disabled: bool = False
) -> discord.ui.Item[View]:
    label = op.label.format(n=index) if op.label else None
    return button(
        OPERATION_IDS[op.key].make(index, job.id),
        label=label,
        emoji=op.emoji,
        disabled=disabled,
        row=op.row,
    )


def job_view(job: Job, web_url: str | None = None, region: bool = False) -> View:
    """Buttons for a finished job: the grid's or the single image's operations (rows of at
    most five; on a single image with the web companion on (`region`), Vary (Region) after
    the zooms), then ❤️, 🗑️, ✉️ and a link to its page (`web_url`) on the row after them."""
    view = View(timeout=None)
    single = kind_of(job.action).single
    offered = [op for op in OPERATIONS if op.offered == ("single" if single else "grid")]
    if job.action in UPSCALE_ACTIONS:  # an image is upscaled once
        offered = [op for op in offered if op.action not in UPSCALE_ACTIONS]
    if single:
        image = next((i for i in job.images if i.index == 1), None)
        square = image is not None and image.width == image.height
        for op in offered:
            disabled = square and op.action == JobAction.MAKE_SQUARE
            view.add_item(operation_button(op, 1, job, disabled=disabled))
        if region:
            view.add_item(button(VARY_REGION.make(job.id), label="Vary (Region)", emoji="🖌️", row=1))
    else:
        for op in offered:
            for n in range(1, 5) if op.needs_index else (0,):
                view.add_item(operation_button(op, n, job))
    last_row = max(op.row for op in offered) + 1
    view.add_item(button(FAVOURITE.make(0, job.id), emoji="❤️", row=last_row))
    view.add_item(button(DELETE.make(0, job.id), emoji="🗑️", row=last_row))
    view.add_item(button(DETAILS.make(0, job.id), emoji="✉️", row=last_row))
    add_web_link(view, web_url, last_row)
    return view


def add_web_link(view: View, url: str | None, row: int) -> None:
    """The link button to a job's page on the web companion, when there is one."""
    if url is not None:
        view.add_item(discord.ui.Button(label="Web", emoji="🌐", url=url, row=row))


def waiting_view(job: Job) -> View:
    """A Cancel button while the job waits or runs."""
    view = View(timeout=None)
    view.add_item(button(CANCEL.make(0, job.id), label="Cancel", style=discord.ButtonStyle.danger))
    return view


def confirm_view(job: Job) -> View:
    """Yes / No for a held batch; `job` is any job of the batch."""
    view = View(timeout=None)
    view.add_item(button(CONFIRM.make(0, job.id), label="Yes", style=discord.ButtonStyle.success))
    view.add_item(button(DECLINE.make(0, job.id), label="No"))
    return view
