from __future__ import annotations

import pytest

from bot.ui.custom_ids import REGISTRY
from bot.ui.job_views import job_view
from db import Job, JobImage
from inference.operations import JobAction


def _job(action: JobAction, job_id: int = 4_294_967_295_123) -> Job:
    return Job(id=job_id, user_id=1, action=action, prompt="p", request={}, model="tiny")


def test_grid_has_u1_to_u4_and_reroll_then_v1_to_v4():
    view = job_view(_job(JobAction.IMAGINE))
    rows: dict[int, list[str]] = {}
    for item in view.children:
        rows.setdefault(item.row, []).append(item.item.label or str(item.item.emoji))
    assert rows == {
        0: ["U1", "U2", "U3", "U4", "🔄"],
        1: ["V1", "V2", "V3", "V4"],
        2: ["❤️", "🗑️", "✉️"],
    }


def _rows(view) -> dict[int, list[str]]:
    rows: dict[int, list[str]] = {}
    for item in view.children:
        rows.setdefault(item.row, []).append(item.item.label or str(item.item.emoji))
    return rows


def test_an_upscaled_image_offers_upscales_variations_zooms_and_pans_in_four_rows():
    assert _rows(job_view(_job(JobAction.UPSCALE))) == {
        0: [
            "Upscale (Subtle)",
            "Upscale (Creative)",
            "Upscale 4x",
            "Vary (Subtle)",
            "Vary (Strong)",
        ],
        1: ["Zoom Out 2x", "Zoom Out 1.5x", "Custom Zoom", "Make Square"],
        2: ["⬅️", "➡️", "⬆️", "⬇️"],
        3: ["❤️", "🗑️", "✉️"],
    }


def test_a_2x_upscale_is_not_offered_upscales_again_and_square_is_disabled_when_square():
    job = _job(JobAction.UPSCALE_CREATIVE)
    job.images = [JobImage(index=1, sha256="0" * 64, width=128, height=128)]
    view = job_view(job)
    assert _rows(view)[0] == ["Vary (Subtle)", "Vary (Strong)"]
    square = next(item for item in view.children if item.item.label == "Make Square")
    assert square.item.disabled


@pytest.mark.parametrize(
    "action", [JobAction.IMAGINE, JobAction.UPSCALE, JobAction.VARIATION, JobAction.UPSCALE_SUBTLE]
)
def test_every_custom_id_is_short_and_matches_exactly_one_registered_template(action):
    for item in job_view(_job(action)).children:
        custom_id = item.custom_id
        assert len(custom_id) <= 100
        assert len(REGISTRY.claims(custom_id)) == 1, custom_id
        assert custom_id.endswith(":4294967295123")
