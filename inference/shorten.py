"""/shorten: which words of a prompt carry weight for the model, and shorter prompts of them.

A word's weight is how much of the model's text conditioning draws on it: attention rollout
(Abnar & Zuidema, 2020) through every layer of the preset's own first text encoder (CLIP),
the attention each prompt position receives, directly or through earlier positions,
averaged over the prompt's positions and summed over the word's tokens. One forward pass
for the whole prompt, where dropping each word in turn takes one encoder run per word; on
the tiny model the two rank words alike (tests/unit/inference/test_shorten.py).

The options keep the fewest words that hold 90%, 75%, 60%, 45% and 30% of the total weight,
in the prompt's order, with the prompt's parameters (`--ar 3:2`...) after them.

`word_weights` needs torch and runs in the render thread; the rest is pure.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from inference.prompt.lexer import split_flags

# Separators of words: whitespace and the punctuation between phrases.
_WORD = re.compile(r"[^\s,;:.!?()\[\]{}]+")
_LINK = re.compile(r"https?://", re.IGNORECASE)  # image prompts are not words
# The shares of the total weight the shorter prompts keep, longest first.
KEEP = (0.9, 0.75, 0.6, 0.45, 0.3)
MAX_OPTIONS = len(KEEP)


@dataclass(frozen=True)
class Shortened:
    """A prompt's words with their shares of the weight (summing to 1), the important ones
    (a share above an even split) and the shorter prompts."""

    words: tuple[str, ...]
    weights: tuple[float, ...]
    important: tuple[str, ...]
    options: tuple[str, ...]

    def answer(self) -> dict[str, Any]:
        """The job's stored answer (db Job.answer) and `imaginebot shorten`'s output."""
        return {
            "important": list(self.important),
            "options": list(self.options),
            "words": list(self.words),
            "weights": [round(w, 4) for w in self.weights],
        }


def split_prompt(prompt: str) -> tuple[list[str], str]:
    """The words of a prompt's text and its parameters as typed (kept on every option)."""
    body, _ = split_flags(prompt)
    text = " ".join(part for part in body.split() if not _LINK.match(part))
    return _WORD.findall(text), prompt[len(body) :].strip()


def shorten(prompt: str, weights: list[float]) -> Shortened:
    """The important words and shorter prompts, given each word's raw weight (`word_weights`
    of `split_prompt`'s words)."""
    words, parameters = split_prompt(prompt)
    if not words:
        raise ValueError("the prompt has no words to shorten")
    if len(weights) != len(words):
        raise ValueError(f"{len(weights)} weights for {len(words)} words")
    total = sum(weights)
    shares = [w / total for w in weights] if total > 0 else [1 / len(words)] * len(words)
    even = 1 / len(words)
    important = tuple(word for word, share in zip(words, shares, strict=True) if share > even)
    options: list[str] = []
    full = " ".join(words)
    for keep in KEEP:
        text = " ".join(words[i] for i in sorted(_fewest(shares, keep)))
        if text != full and text not in options:
            options.append(text)
    suffix = f" {parameters}" if parameters else ""
    return Shortened(
        tuple(words), tuple(shares), important, tuple(text + suffix for text in options)
    )


def _fewest(shares: list[float], keep: float) -> list[int]:
    """The indices of the fewest words whose shares add up to `keep` (heaviest first)."""
    order = sorted(range(len(shares)), key=lambda i: (-shares[i], i))
    kept: list[int] = []
    held = 0.0
    for i in order:
        if held >= keep - 1e-9:
            break
        kept.append(i)
        held += shares[i]
    return kept


def word_weights(text_encoder: Any, tokenizer: Any, words: list[str]) -> list[float]:
    """Each word's raw weight (see the module's docstring). Blocking: torch, one forward pass
    of the encoder; words past the encoder's length weigh nothing."""
    import torch

    ids, owner = _token_ids(tokenizer, words)
    device = text_encoder.get_input_embeddings().weight.device
    with torch.no_grad(), _eager_attention(text_encoder):
        output = text_encoder(torch.tensor([ids], device=device), output_attentions=True)
    size = len(ids)
    identity = torch.eye(size, device=device)
    rollout = identity
    for layer in output.attentions:
        # The residual stream carries half of each position forward unchanged.
        mixed = 0.5 * layer[0].float().mean(0) + 0.5 * identity
        rollout = (mixed / mixed.sum(-1, keepdim=True)) @ rollout
    received = rollout[1:-1].mean(0).tolist()  # from the prompt's positions
    weights = [0.0] * len(words)
    for token, word in enumerate(owner):
        if word is not None:
            weights[word] += received[token]
    return weights


@contextlib.contextmanager
def _eager_attention(text_encoder: Any) -> Iterator[None]:
    """Attention that reports its weights, for one call (the fused kernels don't): the
    worker renders one job at a time, so no render shares the encoder meanwhile."""
    before = text_encoder.config._attn_implementation
    text_encoder.set_attn_implementation("eager")
    try:
        yield
    finally:
        text_encoder.set_attn_implementation(before)


def _token_ids(tokenizer: Any, words: list[str]) -> tuple[list[int], list[int | None]]:
    """The encoder's input (start, each word's tokens, end; cut to its length) and, per
    position, the word it belongs to (None for the start and end tokens)."""
    limit = tokenizer.model_max_length
    ids: list[int] = [tokenizer.bos_token_id]
    owner: list[int | None] = [None]
    for n, word in enumerate(words):
        pieces = tokenizer(word, add_special_tokens=False)["input_ids"]
        room = limit - 1 - len(ids)
        ids += pieces[:room]
        owner += [n] * len(pieces[:room])
    ids.append(tokenizer.eos_token_id)
    owner.append(None)
    return ids, owner
