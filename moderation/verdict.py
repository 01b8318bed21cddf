"""The outcome of a moderation check."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Verdict:
    """Allowed or not, and why: `reason` is one sentence for the user naming rule and term."""

    allowed: bool
    category: str | None = None
    matched: tuple[str, ...] = ()
    reason: str = ""
    appealable: bool = True
    layer: str | None = None  # what decided a block: "terms", "classifier", "examples"

    def to_json(self) -> dict[str, Any]:
        return {
            "layer": self.layer,
            "allowed": self.allowed,
            "category": self.category,
            "matched": list(self.matched),
            "reason": self.reason,
            "appealable": self.appealable,
        }


ALLOWED = Verdict(allowed=True, reason="No rule matched.")
