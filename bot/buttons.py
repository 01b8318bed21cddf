"""Job buttons that survive restarts: all state is the job id and index inside the custom_id.

custom_id format: `ib:<action>:<index>:<job_id>` (at most ~25 characters, far under 100).
Each action is its own DynamicItem, registered once in setup_hook; a click reloads the job
from the database and re-checks who may press it.
"""

from __future__ import annotations

import re
import types
from typing import TYPE_CHECKING, Any, ClassVar

import discord
from discord.ui import Button, DynamicItem, View

from db import Job
from inference.operations import UPSCALE_ACTIONS, JobAction

if TYPE_CHECKING:
    from bot.app import ImagineBot


def custom_id(action: str, index: int, job_id: int) -> str:
    return f"ib:{action}:{index}:{job_id}"


class JobButton:
    """Behaviour shared by every action's button; each subclass is a DynamicItem with its own
    template (discord.py requires a template on every DynamicItem subclass)."""

    action: ClassVar[str]

    def __init__(self, index: int, job_id: int, label: str | None = None, emoji: str | None = None):
        super().__init__(  # type: ignore[call-arg]
            Button(
                label=label,
                emoji=emoji,
                style=discord.ButtonStyle.secondary,
                custom_id=custom_id(self.action, index, job_id),
            )
        )
        self.index = index
        self.job_id = job_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str]
    ) -> Any:
        return cls(int(match["index"]), int(match["job"]))

    async def callback(self, interaction: discord.Interaction[ImagineBot]) -> None:
        await interaction.client.press(interaction, self.action, self.index, self.job_id)


def _button(action: str, name: str) -> Any:
    """The DynamicItem class for one action (discord.py wants a template on each subclass)."""
    template = rf"ib:{action}:(?P<index>[0-4]):(?P<job>[0-9]+)"
    return types.new_class(
        name,
        (JobButton, DynamicItem[Button[View]]),
        {"template": template},
        lambda namespace: namespace.update(action=action, __module__=__name__),
    )


# The id in the custom_id is a job, except for Appeal (an audit record) and the review
# buttons Approve / Uphold / Ban (an appeal).
UpscaleButton = _button("u", "UpscaleButton")
VariationButton = _button("v", "VariationButton")
RerollButton = _button("r", "RerollButton")
VarySubtleButton = _button("vs", "VarySubtleButton")
VaryStrongButton = _button("vt", "VaryStrongButton")
UpscaleSubtleButton = _button("us", "UpscaleSubtleButton")
UpscaleCreativeButton = _button("uc", "UpscaleCreativeButton")
ZoomOut2Button = _button("z2", "ZoomOut2Button")
ZoomOutHalfButton = _button("zh", "ZoomOutHalfButton")
CustomZoomButton = _button("zc", "CustomZoomButton")
PanLeftButton = _button("pl", "PanLeftButton")
PanRightButton = _button("pr", "PanRightButton")
PanUpButton = _button("pu", "PanUpButton")
PanDownButton = _button("pd", "PanDownButton")
MakeSquareButton = _button("sq", "MakeSquareButton")
CancelButton = _button("x", "CancelButton")
FavouriteButton = _button("fav", "FavouriteButton")
DeleteButton = _button("del", "DeleteButton")
ConfirmButton = _button("ok", "ConfirmButton")
DeclineButton = _button("no", "DeclineButton")
AppealButton = _button("ap", "AppealButton")
ApproveButton = _button("ra", "ApproveButton")
UpholdButton = _button("ru", "UpholdButton")
BanButton = _button("rb", "BanButton")

DYNAMIC_BUTTONS = (
    UpscaleButton,
    VariationButton,
    RerollButton,
    VarySubtleButton,
    VaryStrongButton,
    UpscaleSubtleButton,
    UpscaleCreativeButton,
    ZoomOut2Button,
    ZoomOutHalfButton,
    CustomZoomButton,
    PanLeftButton,
    PanRightButton,
    PanUpButton,
    PanDownButton,
    MakeSquareButton,
    CancelButton,
    FavouriteButton,
    DeleteButton,
    ConfirmButton,
    DeclineButton,
    AppealButton,
    ApproveButton,
    UpholdButton,
    BanButton,
)


def appeal_view(audit_id: int) -> View:
    view = View(timeout=None)
    view.add_item(AppealButton(0, audit_id, label="Appeal"))
    return view


def review_view(appeal_id: int) -> View:
    """Approve / Uphold / Ban for a moderator reviewing an appeal."""
    view = View(timeout=None)
    for button, style in (
        (ApproveButton(0, appeal_id, label="Approve"), discord.ButtonStyle.success),
        (UpholdButton(0, appeal_id, label="Uphold"), discord.ButtonStyle.secondary),
        (BanButton(0, appeal_id, label="Ban"), discord.ButtonStyle.danger),
    ):
        button.item.style = style
        view.add_item(button)
    return view


def confirm_view(job: Job) -> View:
    """Yes / No for a held batch; `job` is any job of the batch."""
    view = View(timeout=None)
    yes = ConfirmButton(0, job.id, label="Yes")
    yes.item.style = discord.ButtonStyle.success
    view.add_item(yes)
    view.add_item(DeclineButton(0, job.id, label="No"))
    return view


def waiting_view(job: Job) -> View:
    """A Cancel button while the job waits or runs."""
    view = View(timeout=None)
    cancel = CancelButton(0, job.id, label="Cancel")
    cancel.item.style = discord.ButtonStyle.danger
    view.add_item(cancel)
    return view


def job_view(job: Job) -> View:
    """Buttons for a finished job: U1-U4 + reroll and V1-V4 on grids; on a single image
    upscale, vary, zoom, pan and make square (four rows of at most five)."""
    view = View(timeout=None)
    if job.action in (JobAction.UPSCALE, *UPSCALE_ACTIONS):
        _single_image_buttons(view, job)
        last_row = 3
    else:
        for n in range(1, 5):
            view.add_item(_row(UpscaleButton(n, job.id, label=f"U{n}"), 0))
        view.add_item(_row(RerollButton(0, job.id, emoji="🔄"), 0))
        for n in range(1, 5):
            view.add_item(_row(VariationButton(n, job.id, label=f"V{n}"), 1))
        last_row = 2
    view.add_item(_row(FavouriteButton(0, job.id, emoji="❤️"), last_row))
    view.add_item(_row(DeleteButton(0, job.id, emoji="🗑️"), last_row))
    return view


def _single_image_buttons(view: View, job: Job) -> None:
    image = next((i for i in job.images if i.index == 1), None)
    square = image is not None and image.width == image.height
    if job.action not in UPSCALE_ACTIONS:  # an image is upscaled once
        view.add_item(_row(UpscaleSubtleButton(1, job.id, label="Upscale (Subtle)"), 0))
        view.add_item(_row(UpscaleCreativeButton(1, job.id, label="Upscale (Creative)"), 0))
    view.add_item(_row(VarySubtleButton(1, job.id, label="Vary (Subtle)", emoji="🪄"), 0))
    view.add_item(_row(VaryStrongButton(1, job.id, label="Vary (Strong)", emoji="🪄"), 0))
    view.add_item(_row(ZoomOut2Button(1, job.id, label="Zoom Out 2x", emoji="🔍"), 1))
    view.add_item(_row(ZoomOutHalfButton(1, job.id, label="Zoom Out 1.5x", emoji="🔍"), 1))
    view.add_item(_row(CustomZoomButton(1, job.id, label="Custom Zoom", emoji="🔍"), 1))
    make_square = MakeSquareButton(1, job.id, label="Make Square", emoji="↔️")
    make_square.item.disabled = square
    view.add_item(_row(make_square, 1))
    for button, emoji in (
        (PanLeftButton, "⬅️"),
        (PanRightButton, "➡️"),
        (PanUpButton, "⬆️"),
        (PanDownButton, "⬇️"),
    ):
        view.add_item(_row(button(1, job.id, emoji=emoji), 2))


def _row(item: Any, row: int) -> Any:
    item.row = row
    return item
