"""Training the classifier layer (`imaginebot moderate train DATA...`).

Rows come from labelled CSVs (moderation/dataset.py) plus our own labelled prompts
(moderation/data/own_cases.csv); only the "dev" split of the data is used, and a fixed part
of it (one in four by a second hash) is kept aside to calibrate the thresholds: each
category's threshold is set so that at most `benign_rate` of the real benign prompts in that
part score above it. Deterministic: the same
data gives the same weights.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import numpy as np

from moderation.classifier import ClassifierHead
from moderation.dataset import Row, read_file
from moderation.embedding import DIMENSIONS, Embeds

# Categories the layer scores; each needs labelled rows.
TRAINED = ("minors", "sexual", "violence", "hate", "self_harm", "illegal")
OWN_CASES = Path(str(files("moderation") / "data" / "own_cases.csv"))
# Rows whose "benign" label is an LLM's rewrite of an unsafe prompt (they often keep the
# unsafe words): kept as negatives, with less weight.
_REWRITE_SOURCES = ("coprov2_train_pairs",)
# Thresholds are calibrated on real image prompts only (the benign/ sets: members' prompts
# from Stable Diffusion Discords and Lexica), not on chat text or statements about groups.
_CALIBRATION_SOURCES = ("benign/", "own_cases")


@dataclass(frozen=True)
class Example:
    text: str
    category: str  # "benign" or one of TRAINED
    weight: float = 1.0
    calibrates: bool = False  # a real benign prompt in the calibration part


def own_cases() -> list[Example]:
    """Our own labelled prompts (moderation/data/own_cases.csv): near misses that must pass
    and plain requests that must not."""
    return examples_from([("own_cases", read_file(OWN_CASES))])


def examples_from(files: Sequence[tuple[str, Sequence[Row]]]) -> list[Example]:
    """Dev rows as training examples; `files` pairs a file name with its rows."""
    out = []
    for name, rows in files:
        rewrite = any(r in name for r in _REWRITE_SOURCES)
        real_prompts = any(c in name for c in _CALIBRATION_SOURCES)
        for row in rows:
            if row.category != "benign" and row.category not in TRAINED:
                continue
            calibration = _in_calibration(row.prompt)
            subject = _first_clause(row.prompt)
            if real_prompts and row.category == "benign" and subject != row.prompt:
                out.append(Example(subject, "benign"))  # members also write short prompts
            out.append(
                Example(
                    row.prompt,
                    row.category,
                    0.3 if rewrite and row.category == "benign" else 1.0,
                    calibration and row.category == "benign" and real_prompts,
                )
            )
    return out


def _first_clause(prompt: str) -> str:
    """A prompt's subject: up to its first comma, at most ten words."""
    return " ".join(prompt.split(",", 1)[0].split()[:10])


def _in_calibration(prompt: str) -> bool:
    return zlib.crc32(("calibrate " + prompt).encode()) % 4 == 0


def train(
    examples: Sequence[Example],
    embedder: Embeds,
    hidden: int = 512,
    epochs: int = 30,
    benign_rate: float = 0.0015,
    weight_decay: float = 1e-3,
    dropout: float = 0.1,
    min_threshold: float = 0.6,
) -> ClassifierHead:
    import torch

    torch.manual_seed(0)
    vectors = embedder.embed([e.text for e in examples])
    fit = [i for i, e in enumerate(examples) if not _in_calibration(e.text)]
    calibrate = [i for i, e in enumerate(examples) if e.calibrates]
    x = torch.from_numpy(vectors[fit])
    y = torch.zeros((len(fit), len(TRAINED)))
    for row, i in enumerate(fit):
        if examples[i].category in TRAINED:
            y[row, TRAINED.index(examples[i].category)] = 1.0
    w = torch.tensor([examples[i].weight for i in fit])
    positives = y.sum(0).clamp(min=1.0)
    pos_weight = ((len(fit) - positives) / positives).clamp(max=20.0).sqrt()
    first = torch.nn.Linear(vectors.shape[1], hidden)
    last = torch.nn.Linear(hidden, len(TRAINED))
    model = torch.nn.Sequential(
        torch.nn.Dropout(dropout), first, torch.nn.ReLU(), torch.nn.Dropout(dropout), last
    )
    optimiser = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=weight_decay)
    loss_of = torch.nn.BCEWithLogitsLoss(pos_weight=pos_weight, reduction="none")
    generator = torch.Generator().manual_seed(0)
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(fit), generator=generator)
        for start in range(0, len(fit), 256):
            batch = order[start : start + 256]
            optimiser.zero_grad()
            loss = (loss_of(model(x[batch]), y[batch]).mean(1) * w[batch]).mean()
            loss.backward()
            optimiser.step()
    model.eval()
    head = ClassifierHead(
        TRAINED,
        # Stored as float16: thresholds are calibrated on the weights as they will be used.
        first.weight.detach().numpy().astype(np.float16).astype(np.float32),
        first.bias.detach().numpy(),
        last.weight.detach().numpy(),
        last.bias.detach().numpy(),
        np.full(len(TRAINED), 0.5, np.float32),
    )
    benign_scores = head.scores(vectors[calibrate])
    quantile = np.quantile(benign_scores, 1.0 - benign_rate, axis=0) if calibrate else 0.5
    # Never below min_threshold: near misses ("a boxer throwing a punch") score up to ~0.6.
    thresholds = np.maximum(quantile, min_threshold).astype(np.float32)
    return ClassifierHead(
        head.categories,
        head.hidden_weights,
        head.hidden_bias,
        head.weights,
        head.bias,
        thresholds,
    )


class CachedEmbedder:
    """An embedder that remembers every text's vector in `cache` (an .npz) if given, so
    training and evaluation runs over the same data embed it once."""

    def __init__(self, embedder: Embeds, cache: Path | None) -> None:
        self.embedder = embedder
        self.cache = cache

    def embed(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        known = self._load()
        missing = [t for t in dict.fromkeys(texts) if t not in known]
        if missing:
            known.update(zip(missing, self.embedder.embed(missing, batch_size), strict=True))
            self._save(known)
        if not texts:
            return np.zeros((0, DIMENSIONS), np.float32)
        return np.stack([known[t] for t in texts])

    def _load(self) -> dict[str, np.ndarray]:
        if self.cache is None or not self.cache.exists():
            return {}
        with np.load(self.cache) as data:
            return dict(zip(json.loads(bytes(data["texts"])), data["vectors"], strict=True))

    def _save(self, known: dict[str, np.ndarray]) -> None:
        if self.cache is None:
            return
        names = list(known)
        np.savez(
            self.cache,
            texts=np.frombuffer(json.dumps(names).encode(), np.uint8),
            vectors=np.stack([known[n] for n in names]),
        )
