"""When the bot defers an interaction instead of answering it straight away."""

from __future__ import annotations

import pytest

from bot.delivery.replies import BUSY_INTERACTIONS, ack_wait

BUDGET = 0.15


@pytest.mark.parametrize(
    ("waited", "answering", "expected"),
    [
        (0.0, 1, BUDGET),  # a quiet moment: the answer may take the whole budget
        (0.1, 1, BUDGET - 0.1),  # the gateway delivered it late: less is left
        (5.0, 1, 0.0),  # already past the budget: defer now
        (0.0, BUSY_INTERACTIONS, BUDGET),
        (0.0, BUSY_INTERACTIONS + 1, 0.0),  # a burst: defer at once, answer after
    ],
)
def test_answers_get_the_rest_of_the_budget_unless_the_bot_is_busy(waited, answering, expected):
    assert ack_wait(waited, answering, BUDGET) == pytest.approx(expected)
