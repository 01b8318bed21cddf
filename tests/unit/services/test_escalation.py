from __future__ import annotations

from datetime import timedelta

import pytest

from services.escalation import DEFAULT_LADDER, Penalty, parse_duration, parse_ladder, penalty_for

LADDER = parse_ladder(DEFAULT_LADDER)


@pytest.mark.parametrize(
    ("strikes", "expected"),
    [
        (1, Penalty("warning")),
        (2, Penalty("timeout", timedelta(hours=1))),
        (3, Penalty("timeout", timedelta(hours=24))),
        (4, Penalty("ban")),
        (9, Penalty("ban")),
    ],
    ids=["first-warns", "second-1h", "third-24h", "fourth-bans", "beyond-stays-ban"],
)
def test_default_ladder(strikes, expected):
    assert penalty_for(strikes, LADDER) == expected


@pytest.mark.parametrize(
    ("text", "minutes"), [("30m", 30), ("1h", 60), ("2d", 2880), (" 5 min", 5)]
)
def test_durations(text, minutes):
    assert parse_duration(text) == timedelta(minutes=minutes)


@pytest.mark.parametrize("text", ["", "0h", "1w", "h", "-1h", "1.5h"])
def test_bad_durations_say_the_accepted_form(text):
    with pytest.raises(ValueError, match="30m, 1h or 7d"):
        parse_duration(text)


def test_descriptions_read_naturally():
    assert Penalty("timeout", timedelta(hours=24)).describe() == "a time-out of 1 day"
    assert Penalty("timeout", timedelta(minutes=90)).describe() == "a time-out of 90 minutes"
    assert Penalty("ban").describe() == "a ban"
