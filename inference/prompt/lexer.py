"""Split one expanded prompt into its text body and its `--flag value` parts (linear time)."""

from __future__ import annotations

import re
from typing import NamedTuple

# A flag starts with `--`, an em-dash (phones turn `--` into it) or an en-dash, at the start,
# after whitespace or right after `::` ("cat::--ar 2:3"), directly followed by a letter.
# Dashes inside words or before a space ("well—done", "1990 – 2000") stay text. Fixed-width
# lookahead only, what precedes is checked by hand (a lookbehind at every position is 4x
# slower): no backtracking, so runs of thousands of dashes scan in linear time.
_DASH = re.compile(r"(?:--|[\u2014\u2013])(?=[A-Za-z])")
_NAME = re.compile(r"[^\s=]+")


class RawFlag(NamedTuple):
    """One flag as typed: its name (lower case), how it was typed and its value, if any."""

    name: str
    typed: str
    value: str | None


def split_flags(text: str) -> tuple[str, list[RawFlag]]:
    """The body before the first flag, and each flag with the text up to the next flag."""
    starts = [
        (m.start(), m.end())
        for m in _DASH.finditer(text)
        if (i := m.start()) == 0 or text[i - 1].isspace() or text[i - 2 : i] == "::"
    ]
    if not starts:
        return text, []
    flags: list[RawFlag] = []
    for k, (_, name_at) in enumerate(starts):
        end = starts[k + 1][0] if k + 1 < len(starts) else len(text)
        m = _NAME.match(text, name_at, end)
        assert m is not None  # the lookahead guarantees a letter here
        typed = m.group()
        rest = text[m.end() : end]
        if rest.startswith("="):  # ours: --name=value
            rest = rest[1:]
        value = rest.strip()
        flags.append(RawFlag(typed.lower(), typed, value or None))
    return text[: starts[0][0]], flags
