"""The table of operations: every kind has its engine call, every button its kind, and the
architecture document shows the table as it is."""

from __future__ import annotations

from pathlib import Path

from inference.operations import (
    BY_KEY,
    KINDS,
    OPERATIONS,
    OUTPAINT_ACTIONS,
    UPSCALE_ACTIONS,
    JobAction,
    markdown_table,
)

DOC = Path(__file__).resolve().parents[3] / "docs" / "architecture.md"


def test_every_job_kind_has_one_way_to_render():
    assert set(KINDS) == set(JobAction)
    for kind in KINDS.values():
        assert (kind.engine == "vary") == (kind.strength is not None), kind
        assert (kind.engine == "outpaint") == (kind.canvas is not None), kind
        assert (kind.canvas == "pan") == (kind.direction is not None), kind
    assert {JobAction.UPSCALE_SUBTLE, JobAction.UPSCALE_CREATIVE, JobAction.UPSCALE_4X} == (
        UPSCALE_ACTIONS
    )
    assert JobAction.PAN_DOWN in OUTPAINT_ACTIONS and JobAction.VARIATION not in OUTPAINT_ACTIONS


def test_buttons_fit_discord_rows_and_keys_are_unique():
    assert len(BY_KEY) == len(OPERATIONS)
    for offered in ("grid", "single"):
        ops = [op for op in OPERATIONS if op.offered == offered]
        for row in {op.row for op in ops}:
            buttons = sum(
                4 if op.needs_index and offered == "grid" else 1 for op in ops if op.row == row
            )
            assert buttons <= 5, (offered, row)


def test_the_architecture_document_shows_the_table_as_it_is():
    assert markdown_table() in DOC.read_text(encoding="utf-8")
