"""The trained layer: a small network over MiniLM sentence embeddings, one score per category.

Weights and per-category thresholds live in `moderation/data/classifier.npz` (written by
`imaginebot moderate train`, see moderation/train.py). Scoring is a few matrix products in
numpy; the embedding (moderation/embedding.py) is the costly part.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import numpy as np

DEFAULT_WEIGHTS = Path(str(files("moderation") / "data" / "classifier.npz"))


@dataclass(frozen=True)
class ClassifierHead:
    """Embedding -> ReLU hidden layer -> one sigmoid score per category; a category blocks
    at or above its threshold (calibrated for few blocks of real benign prompts)."""

    categories: tuple[str, ...]
    hidden_weights: np.ndarray  # (hidden, 384)
    hidden_bias: np.ndarray  # (hidden,)
    weights: np.ndarray  # (categories, hidden)
    bias: np.ndarray  # (categories,)
    thresholds: np.ndarray  # (categories,)

    def scores(self, vectors: np.ndarray) -> np.ndarray:
        """(n, categories) probabilities for (n, 384) embeddings."""
        hidden = np.maximum(vectors @ self.hidden_weights.T + self.hidden_bias, 0.0)
        logits = hidden @ self.weights.T + self.bias
        probabilities: np.ndarray = 1.0 / (1.0 + np.exp(-np.clip(logits, -30, 30)))
        return probabilities

    def decide(self, scores: np.ndarray) -> tuple[str, float] | None:
        """The category whose score passes its threshold by the most, with its score."""
        margin = scores - self.thresholds
        best = int(margin.argmax())
        return (self.categories[best], float(scores[best])) if margin[best] >= 0 else None

    def save(self, path: Path) -> None:
        np.savez_compressed(
            path,
            categories=np.array(self.categories),
            hidden_weights=self.hidden_weights.astype(np.float16),
            hidden_bias=self.hidden_bias.astype(np.float32),
            weights=self.weights.astype(np.float32),
            bias=self.bias.astype(np.float32),
            thresholds=self.thresholds.astype(np.float32),
        )

    @classmethod
    def load(cls, path: Path = DEFAULT_WEIGHTS) -> ClassifierHead:
        with np.load(path) as data:
            return cls(
                tuple(str(c) for c in data["categories"]),
                data["hidden_weights"].astype(np.float32),
                data["hidden_bias"].astype(np.float32),
                data["weights"].astype(np.float32),
                data["bias"].astype(np.float32),
                data["thresholds"].astype(np.float32),
            )
