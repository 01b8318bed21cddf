from __future__ import annotations

from bot.delivery.throttle import EditBudget


def test_one_edit_per_message_per_second():
    budget = EditBudget()
    assert budget.try_spend(1, 10, now=0.0)
    assert not budget.try_spend(1, 10, now=0.5)
    assert budget.try_spend(1, 10, now=1.0)


def test_channel_budget_caps_edits_across_messages_in_a_window():
    budget = EditBudget()
    allowed = [budget.try_spend(1, message, now=0.1 * message) for message in range(10)]
    assert allowed == [True] * 4 + [False] * 6
    assert budget.try_spend(2, 99, now=0.5)  # another channel has its own budget
    assert budget.try_spend(1, 5, now=5.0)  # the first edit left the window


def test_final_results_count_against_the_channel():
    budget = EditBudget()
    for _ in range(4):
        budget.count(1, now=0.0)
    assert not budget.try_spend(1, 10, now=1.0)
    assert budget.try_spend(1, 10, now=5.0)


def test_a_sustained_stream_never_exceeds_five_edits_in_any_five_seconds():
    budget = EditBudget()
    sent = [t / 10 for t in range(600) if budget.try_spend(1, t % 7, now=t / 10)]
    for start in sent:
        assert sum(1 for t in sent if start <= t < start + 5.0) <= 5


def test_a_result_waits_out_its_messages_interval_but_not_the_channel_budget():
    budget = EditBudget()
    assert budget.final_ready(10, now=0.0)  # never edited
    for message in range(10, 14):
        assert budget.try_spend(1, message, now=0.0)
    assert not budget.final_ready(10, now=0.5)
    assert budget.final_ready(10, now=1.0)  # the channel's window is full: results still go
