"""The strike ladder: what each upheld violation costs. Pure: no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

DEFAULT_LADDER = "warning,1h,24h,ban"
_DURATION = re.compile(r"^(\d+)\s*(m|min|h|d)$")
_UNITS = {"m": "minutes", "min": "minutes", "h": "hours", "d": "days"}


@dataclass(frozen=True)
class Penalty:
    """`warning`, a time-out of `duration`, or a permanent `ban`."""

    kind: str
    duration: timedelta | None = None

    def describe(self) -> str:
        if self.kind == "timeout" and self.duration is not None:
            return f"a time-out of {format_duration(self.duration)}"
        return "a warning" if self.kind == "warning" else "a ban"


def parse_duration(text: str) -> timedelta:
    """`30m`, `1h`, `7d` -> timedelta; ValueError with the accepted form otherwise."""
    match = _DURATION.match(text.strip().lower())
    if not match or int(match[1]) == 0:
        raise ValueError(f"duration must look like 30m, 1h or 7d, got {text!r}")
    return timedelta(**{_UNITS[match[2]]: int(match[1])})


def format_duration(duration: timedelta) -> str:
    seconds = int(duration.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"


def parse_ladder(text: str) -> tuple[Penalty, ...]:
    """`warning,1h,24h,ban` -> penalties for the 1st, 2nd, ... strike."""
    steps = []
    for part in (p.strip().lower() for p in text.split(",") if p.strip()):
        if part in ("warning", "ban"):
            steps.append(Penalty(part))
        else:
            steps.append(Penalty("timeout", parse_duration(part)))
    if not steps:
        raise ValueError("the strike ladder needs at least one step")
    return tuple(steps)


def penalty_for(strikes: int, ladder: tuple[Penalty, ...]) -> Penalty:
    """The penalty for a user's `strikes`-th strike (1-based); past the end, the last step."""
    return ladder[min(max(strikes, 1), len(ladder)) - 1]
