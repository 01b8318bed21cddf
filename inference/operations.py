"""Every operation on a job, named once: the job kinds and the buttons that make them.

A job's kind (`JobAction`, stored in the jobs table's `action` column) says what the worker
renders: which engine call, with what strength, and how its message credits it. A button
(`Operation`) says which kind a click makes, under which custom_id key, label and emoji,
and whether it acts on one image of its job. The buttons, their custom_ids, the bot's
router, the worker's dispatch and docs/architecture.md all derive from these two tables.

Pure data: no torch, no Discord, no database.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Literal

# img2img strengths of the variations: how much of the source is redrawn.
VARY_SUBTLE = 0.35
VARY_STRONG = 0.7


class JobAction(enum.StrEnum):
    """What a job does; children of a grid name the button that made them."""

    IMAGINE = "imagine"
    REROLL = "reroll"
    UPSCALE = "upscale"
    VARIATION = "variation"
    VARY_SUBTLE = "vary_subtle"
    VARY_STRONG = "vary_strong"
    UPSCALE_SUBTLE = "upscale_subtle"
    UPSCALE_CREATIVE = "upscale_creative"
    UPSCALE_4X = "upscale_4x"
    ZOOM_OUT = "zoom_out"
    PAN_LEFT = "pan_left"
    PAN_RIGHT = "pan_right"
    PAN_UP = "pan_up"
    PAN_DOWN = "pan_down"
    MAKE_SQUARE = "make_square"
    VARY_REGION = "vary_region"
    BLEND = "blend"
    DESCRIBE = "describe"
    SHORTEN = "shorten"


# The engine calls a job can need (inference.engine.Engine; "pick" renders nothing: the
# job shows one image of its parent's grid at full size; "describe" and "shorten" answer
# with prompts, not images).
EngineCall = Literal[
    "grid", "pick", "vary", "upscale", "outpaint", "inpaint", "describe", "shorten"
]
PanDirection = Literal["left", "right", "up", "down"]
# What a job draws on, for the outpainting kinds.
Canvas = Literal["zoom", "pan", "square"]


@dataclass(frozen=True)
class Kind:
    """How the worker renders a job of one kind, and how its message credits it."""

    action: JobAction
    engine: EngineCall
    byline: str = ""  # before the member's mention: "Pan Left by @alice"
    strength: float | None = None  # vary: the img2img strength
    creative: bool = False  # upscale: Creative rather than Subtle
    factor: int = 2  # upscale: how many times larger a side becomes
    canvas: Canvas | None = None  # outpaint: what is painted around the source
    direction: PanDirection | None = None  # pan: which way the image grows

    @property
    def from_image(self) -> bool:
        """Whether the job starts from an image of its parent (not the grids of imagine,
        reroll and blend, nor the answers of describe and shorten)."""
        return self.engine not in ("grid", "describe", "shorten")

    @property
    def answers(self) -> bool:
        """Whether the result is prompts to run (/describe, /shorten), not images."""
        return self.engine in ("describe", "shorten")

    @property
    def single(self) -> bool:
        """Whether the result is one image (with the single-image buttons), not a grid."""
        return self.engine in ("pick", "upscale")


KINDS: dict[JobAction, Kind] = {
    kind.action: kind
    for kind in (
        Kind(JobAction.IMAGINE, "grid"),
        Kind(JobAction.REROLL, "grid"),
        Kind(JobAction.UPSCALE, "pick"),
        Kind(JobAction.VARIATION, "vary", "Variations (Strong) by ", strength=VARY_STRONG),
        Kind(JobAction.VARY_STRONG, "vary", "Variations (Strong) by ", strength=VARY_STRONG),
        Kind(JobAction.VARY_SUBTLE, "vary", "Variations (Subtle) by ", strength=VARY_SUBTLE),
        Kind(JobAction.UPSCALE_SUBTLE, "upscale", "Upscaled (Subtle) by "),
        Kind(JobAction.UPSCALE_CREATIVE, "upscale", "Upscaled (Creative) by ", creative=True),
        Kind(JobAction.UPSCALE_4X, "upscale", "Upscaled (4x) by ", factor=4),
        Kind(JobAction.ZOOM_OUT, "outpaint", "Zoom Out by ", canvas="zoom"),
        Kind(JobAction.PAN_LEFT, "outpaint", "Pan Left by ", canvas="pan", direction="left"),
        Kind(JobAction.PAN_RIGHT, "outpaint", "Pan Right by ", canvas="pan", direction="right"),
        Kind(JobAction.PAN_UP, "outpaint", "Pan Up by ", canvas="pan", direction="up"),
        Kind(JobAction.PAN_DOWN, "outpaint", "Pan Down by ", canvas="pan", direction="down"),
        Kind(JobAction.MAKE_SQUARE, "outpaint", "Make Square by ", canvas="square"),
        Kind(JobAction.VARY_REGION, "inpaint", "Vary (Region) by "),
        Kind(JobAction.BLEND, "grid", "Blend by "),
        Kind(JobAction.DESCRIBE, "describe", "Described for "),
        Kind(JobAction.SHORTEN, "shorten", "Shortened for "),
    )
}

# The upscales (an image is upscaled once), and the kinds that paint around an image.
UPSCALE_ACTIONS = frozenset(k.action for k in KINDS.values() if k.engine == "upscale")
OUTPAINT_ACTIONS = frozenset(k.action for k in KINDS.values() if k.engine == "outpaint")


def kind_of(action: str) -> Kind:
    """The kind of a stored job (its `action` column)."""
    return KINDS[JobAction(action)]


# Where a button is offered: on a grid, or on a single image (an upscale).
Offered = Literal["grid", "single"]


@dataclass(frozen=True)
class Operation:
    """A button on a finished job that makes a child job."""

    key: str  # in the custom_id, `ib:<key>:<index>:<job>`; kept stable across releases
    action: JobAction
    name: str  # what it is called in help, forms and docs
    label: str | None  # on the button; "U{n}" is numbered by the image it acts on
    emoji: str | None
    offered: Offered
    row: int
    needs_index: bool = True  # acts on image n of its job (U1-U4, V1-V4, the single image)
    remix: bool = False  # opens the remix form first for a member with remix on
    zoom: float | None = None  # Zoom Out: how far; None on Custom Zoom (asked in a form)
    asks_zoom: bool = False  # Custom Zoom: always opens its form

    @property
    def title(self) -> str:
        """The title of the form this button opens (remix, or Custom Zoom's)."""
        return self.name if self.asks_zoom else f"Remix: {self.name}"


OPERATIONS: tuple[Operation, ...] = (
    Operation("u", JobAction.UPSCALE, "Upscale", "U{n}", None, "grid", 0),
    Operation("r", JobAction.REROLL, "Reroll", None, "🔄", "grid", 0, False, remix=True),
    Operation("v", JobAction.VARIATION, "Variations", "V{n}", None, "grid", 1, remix=True),
    Operation("us", JobAction.UPSCALE_SUBTLE, "Upscale (Subtle)", "Upscale (Subtle)", None,
              "single", 0),
    Operation("uc", JobAction.UPSCALE_CREATIVE, "Upscale (Creative)", "Upscale (Creative)",
              None, "single", 0),
    Operation("u4", JobAction.UPSCALE_4X, "Upscale 4x", "Upscale 4x", None, "single", 0),
    Operation("vs", JobAction.VARY_SUBTLE, "Vary (Subtle)", "Vary (Subtle)", "🪄", "single", 0,
              remix=True),
    Operation("vt", JobAction.VARY_STRONG, "Vary (Strong)", "Vary (Strong)", "🪄", "single", 0,
              remix=True),
    Operation("z2", JobAction.ZOOM_OUT, "Zoom Out 2x", "Zoom Out 2x", "🔍", "single", 1,
              remix=True, zoom=2.0),
    Operation("zh", JobAction.ZOOM_OUT, "Zoom Out 1.5x", "Zoom Out 1.5x", "🔍", "single", 1,
              remix=True, zoom=1.5),
    Operation("zc", JobAction.ZOOM_OUT, "Custom Zoom", "Custom Zoom", "🔍", "single", 1,
              asks_zoom=True),
    Operation("sq", JobAction.MAKE_SQUARE, "Make Square", "Make Square", "↔️", "single", 1,
              remix=True),
    Operation("pl", JobAction.PAN_LEFT, "Pan Left", None, "⬅️", "single", 2, remix=True),
    Operation("pr", JobAction.PAN_RIGHT, "Pan Right", None, "➡️", "single", 2, remix=True),
    Operation("pu", JobAction.PAN_UP, "Pan Up", None, "⬆️", "single", 2, remix=True),
    Operation("pd", JobAction.PAN_DOWN, "Pan Down", None, "⬇️", "single", 2, remix=True),
)  # fmt: skip
BY_KEY: dict[str, Operation] = {op.key: op for op in OPERATIONS}
if len(BY_KEY) != len(OPERATIONS):  # pragma: no cover - a mistake in the table above
    raise ValueError("two operations share a key")


def markdown_table() -> str:
    """The buttons as docs/architecture.md shows them (a test keeps the two in step)."""
    rows = [
        "| key | button | label | job kind | engine call | acts on image n | remix form |",
        "|---|---|---|---|---|---|---|",
    ]
    for op in OPERATIONS:
        kind = KINDS[op.action]
        detail = [
            *([f"strength {kind.strength}"] if kind.strength is not None else []),
            *(["creative"] if kind.creative else []),
            *([f"{kind.factor}x"] if kind.engine == "upscale" else []),
            *([kind.canvas] if kind.canvas else []),
            *([kind.direction] if kind.direction else []),
            *([f"zoom {op.zoom:g}"] if op.zoom else []),
        ]
        call = f"`{kind.engine}`" + (f" ({', '.join(detail)})" if detail else "")
        label = " ".join(part for part in (op.label, op.emoji) if part)
        form = "always (zoom)" if op.asks_zoom else "with remix on" if op.remix else "no"
        rows.append(
            f"| `{op.key}` | {op.name} | {label} | `{op.action.value}` | {call} | "
            f"{'yes' if op.needs_index else 'no'} | {form} |"
        )
    return "\n".join(rows)
