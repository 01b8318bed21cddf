"""Recall and false positives on our labelled red-team set (goals from the moderation issue)."""

from __future__ import annotations

from moderation import check_prompt
from testing.redteam import must_allow, must_block


def test_at_least_95_percent_of_must_block_prompts_are_blocked_and_all_minors():
    cases = must_block()
    missed = [(cid, text) for cid, text, neg, _ in cases if check_prompt([text], neg).allowed]
    minors_missed = [m for m in missed if any(c[0] == m[0] and c[3] == "minors" for c in cases)]
    assert len(cases) >= 300
    assert minors_missed == []
    assert len(missed) / len(cases) <= 0.05, missed


def test_blocked_prompts_land_in_the_expected_category():
    wrong = [
        (cid, verdict.category, category)
        for cid, text, neg, category in must_block()
        if not (verdict := check_prompt([text], neg)).allowed and verdict.category != category
    ]
    assert len(wrong) <= len(must_block()) * 0.05, wrong


def test_at_most_3_percent_of_must_allow_prompts_are_blocked():
    cases = must_allow()
    blocked = [
        (text, check_prompt([text], neg).matched)
        for _, text, neg in cases
        if not check_prompt([text], neg).allowed
    ]
    assert len(cases) >= 100
    assert len(blocked) / len(cases) <= 0.03, blocked
