"""Output checks: an image classifier looks at results before they are posted.

The classifier is a plug-in (`ImageClassifier`). The one shipped here wraps NudeNet, whose
package carries AGPL-3.0 licence files, so it is only an optional extra
(`pip install imaginebot[nsfw]`), never a core dependency.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

EXPOSED = frozenset(
    {
        "FEMALE_BREAST_EXPOSED",
        "FEMALE_GENITALIA_EXPOSED",
        "MALE_GENITALIA_EXPOSED",
        "ANUS_EXPOSED",
        "BUTTOCKS_EXPOSED",
    }
)


@dataclass(frozen=True)
class ImageVerdict:
    flagged: bool
    label: str = ""
    score: float = 0.0


class ImageClassifier(Protocol):
    name: str

    def check(self, image: Any) -> ImageVerdict:
        """Look at one PIL image; blocking and CPU/GPU-heavy (called from the worker thread)."""
        ...


class NudeNetClassifier:
    """Flags exposed nudity found by NudeNet's detector above `threshold`."""

    name = "nudenet"

    def __init__(self, threshold: float = 0.6) -> None:
        try:
            from nudenet import NudeDetector
        except ImportError as exc:
            raise RuntimeError(
                "IMAGINEBOT_OUTPUT_FILTER=nudenet needs the optional extra: "
                "pip install 'imaginebot[nsfw]'"
            ) from exc
        self._detector = NudeDetector()
        self.threshold = threshold

    def check(self, image: Any) -> ImageVerdict:
        import numpy as np

        bgr = np.asarray(image.convert("RGB"))[:, :, ::-1].copy()
        hits = [
            d
            for d in self._detector.detect(bgr)
            if d.get("class") in EXPOSED and float(d.get("score", 0)) >= self.threshold
        ]
        if not hits:
            return ImageVerdict(False)
        top = max(hits, key=lambda d: float(d["score"]))
        return ImageVerdict(True, str(top["class"]).lower(), float(top["score"]))


def load_output_filter(name: str | None) -> Callable[[Any], str | None] | None:
    """The configured check (IMAGINEBOT_OUTPUT_FILTER) as a function image -> label or None."""
    if not name or name == "none":
        return None
    if name != "nudenet":
        raise ValueError(f"unknown output filter {name!r}; valid: none, nudenet")
    classifier: ImageClassifier = NudeNetClassifier()

    def check(image: Any) -> str | None:
        verdict = classifier.check(image)
        return f"{classifier.name}: {verdict.label}" if verdict.flagged else None

    return check
