"""Split one expanded prompt into its text body and its `--flag value` parts (linear time)."""

from __future__ import annotations

import re
from typing import NamedTuple

# A flag starts with `--`, an em-dash (phones turn `--` into it) or an en-dash, at the start,
# after whitespace or right after `::` ("cat::--ar 2:3"), directly followed by a letter.
# Dashes inside words or before a space ("well—done", "1990 – 2000") stay text. The pattern
# consumes the whitespace or `::` before the dash (the text gets a leading space), so the
# engine skips ahead by character class: no lookbehind at every position, no backtracking,
# and dash runs or glued `x--a` cost no Python work per candidate.
_FLAG_START = re.compile(r"(?:\s|::)(--|[\u2014\u2013])(?=[A-Za-z])")
_NAME = re.compile(r"[^\s=]+")


class RawFlag(NamedTuple):
    """One flag as typed: its name (lower case), how it was typed and its value, if any."""

    name: str
    typed: str
    value: str | None


def split_flags(text: str) -> tuple[str, list[RawFlag]]:
    """The body before the first flag, and each flag with the text up to the next flag."""
    if "-" not in text and "\u2014" not in text and "\u2013" not in text:
        return text, []
    # (dash start, name start) in `text`; the matches run on " " + text, hence the - 1.
    starts = [(m.start(1) - 1, m.end(1) - 1) for m in _FLAG_START.finditer(" " + text)]
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
