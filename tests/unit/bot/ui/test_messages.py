from __future__ import annotations

import pytest

from bot.ui.errors import error_embed
from bot.ui.messages import MAX_CONTENT, job_content, mentions_for
from db import Job, JobState
from inference.operations import JobAction
from services.errors import InvalidParameter, QueueFull


def _job(**kw) -> Job:
    values = dict(
        id=7,
        user_id=42,
        action=JobAction.IMAGINE,
        prompt="a red fox",
        request={},
        model="tiny",
        state=JobState.QUEUED,
        progress=-1,
        parent_index=None,
    )
    values.update(kw)
    return Job(**values)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, "**a red fox** - <@42> (Waiting to start)"),
        ({"state": JobState.RUNNING, "progress": 37}, "**a red fox** - <@42> (37%)"),
        ({"state": JobState.DONE, "progress": 100}, "**a red fox** - <@42>"),
        (
            {"state": JobState.DONE, "action": JobAction.UPSCALE, "parent_index": 2},
            "**a red fox** - Image #2 <@42>",
        ),
        (
            {"state": JobState.DONE, "action": JobAction.VARIATION},
            "**a red fox** - Variations (Strong) by <@42>",
        ),
        ({"state": JobState.FAILED}, "**a red fox** - <@42> (Failed)"),
    ],
    ids=["queued", "running", "done", "upscale", "variation", "failed"],
)
def test_job_line(fields, expected):
    assert job_content(_job(**fields)) == expected


def test_markdown_in_prompt_cannot_break_the_bold_and_long_prompts_fit():
    assert job_content(_job(prompt="**bold** _x_")).startswith(r"**\*\*bold\*\* \_x\_**")
    long = job_content(_job(prompt="fox " * 1000))
    assert len(long) <= MAX_CONTENT and long.endswith("(Waiting to start)")


def test_only_the_requesting_user_can_be_mentioned():
    mentions = mentions_for(_job())
    assert mentions.everyone is False and mentions.roles is False
    assert [u.id for u in mentions.users] == [42]


def test_invalid_parameter_embed_shows_the_prompt_to_copy_and_what_to_do():
    embed = error_embed(
        InvalidParameter("chaos must be 0-100, got 150.", "chaos_range", "fox --c 150")
    )
    assert embed.title == "Invalid parameter"
    assert "chaos must be 0-100" in embed.description
    assert "fox --c 150" in embed.fields[0].value
    assert embed.fields[1].name == "What to do"


def test_queue_full_says_the_counts():
    text = error_embed(QueueFull(7, 3, 7)).description
    assert "7 jobs waiting (the limit is 7) and 3 running" in text
