"""Prompt policy: term lists per category, matched on whole words after normalisation."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from pathlib import Path

from moderation.verdict import ALLOWED, Verdict

CATEGORIES = ("minors", "sexual", "violence", "hate", "public_figure", "self_harm", "illegal")
ZERO_TOLERANCE = frozenset({"minors"})
_LIST_FILES = ("sexual", "minors", "violence", "hate", "self_harm", "illegal")
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"}
)
_WORD = re.compile(r"[a-z]+")
_CLOTHING = frozenset({"clothes", "clothing", "dress", "shirt", "pants", "bra", "underwear"})
_PERSON = frozenset({"woman", "women", "man", "men", "girl", "boy", "person", "lady", "people"})

RULE_NAMES = {
    "minors": "sexual content involving minors",
    "sexual": "nudity and sexual content",
    "violence": "gore and shocking imagery",
    "hate": "hate symbols and slurs",
    "public_figure": "misleading depictions of real people",
    "self_harm": "self-harm",
    "illegal": "illegal activity",
}


@dataclass(frozen=True)
class Policy:
    """A deployment's or guild's additions: extra terms per category and allowed terms."""

    extra_terms: Mapping[str, frozenset[str]] = field(default_factory=dict)
    allow_terms: frozenset[str] = frozenset()

    @classmethod
    def with_lexicon(cls, path: Path, category: str = "hate") -> Policy:
        """Add a private term file (one per line, # comments), e.g. slurs kept out of the repo."""
        return cls(extra_terms={category: frozenset(_read_terms(path.read_text()))})


def normalize(text: str) -> str:
    """NFKC, case folding, invisible characters removed, common leetspeak undone."""
    text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE).casefold()
    return text.translate(_LEET)


def check_prompt(
    positive: Sequence[str], negative: Sequence[str] = (), policy: Policy | None = None
) -> Verdict:
    """Verdict for a prompt's concepts (`positive`) and excluded items (`negative`)."""
    policy = policy or Policy()
    words = _words(positive)
    hits = {
        category: sorted(
            term for term in terms if term not in policy.allow_terms and _has(words, term)
        )
        for category, terms in _terms(policy).items()
    }
    if hits.get("sexual") and hits.get("minors"):
        return _blocked("minors", [*hits["sexual"], *hits["minors"]])
    negative_words = _words(negative)
    if _CLOTHING & set(negative_words) and _PERSON & set(words):
        # "--no clothes" on a person asks for nudity, although it is written as an exclusion.
        return _blocked("sexual", sorted(_CLOTHING & set(negative_words)))
    for category in CATEGORIES:
        if category != "minors" and hits.get(category):
            return _blocked(category, hits[category])
    return ALLOWED


def _blocked(category: str, matched: Iterable[str]) -> Verdict:
    terms = tuple(dict.fromkeys(matched))
    return Verdict(
        allowed=False,
        category=category,
        matched=terms,
        reason=f"Your prompt breaks the rule on {RULE_NAMES[category]} "
        f"(matched: {', '.join(terms)}).",
        appealable=category not in ZERO_TOLERANCE,
    )


def _words(texts: Iterable[str]) -> list[str]:
    return [w for text in texts for w in _WORD.findall(normalize(text))]


def _has(words: list[str], term: str) -> bool:
    parts = _WORD.findall(term)
    if len(parts) == 1:
        return parts[0] in words
    n = len(parts)
    return any(words[i : i + n] == parts for i in range(len(words) - n + 1))


def _terms(policy: Policy) -> dict[str, frozenset[str]]:
    merged = dict(_builtin_terms())
    for category, extra in policy.extra_terms.items():
        merged[category] = merged.get(category, frozenset()) | {normalize(t) for t in extra}
    return merged


@cache
def _builtin_terms() -> dict[str, frozenset[str]]:
    data = files("moderation") / "data"
    return {
        name: frozenset(_read_terms((data / f"{name}.txt").read_text(encoding="utf-8")))
        for name in _LIST_FILES
    }


def _read_terms(text: str) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return [normalize(line) for line in lines if line]
