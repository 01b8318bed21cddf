"""Prompt policy: small rules over normalised words, term lists per category in data files.

Matching is on whole words (so "Scunthorpe", "cocktail" and "grape" are never hits), on
phrases of whole words, on spaced-out runs ("n u d e"), on masked words ("n*de") and, for
long terms marked "~" in the lists, on one typo. `--no` items are excluded content: they
never block by themselves, except asking for a person without clothes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Protocol

from moderation.normalize import (
    Tokens,
    collapse,
    known_word,
    normalize,
    tokens,
    within_one_edit,
)
from moderation.verdict import ALLOWED, Verdict

CATEGORIES = ("minors", "sexual", "violence", "hate", "public_figure", "self_harm", "illegal")
ZERO_TOLERANCE = frozenset({"minors"})
_TERM_CATEGORIES = ("sexual", "violence", "hate", "self_harm", "illegal")
# Excluding these from a person asks for nudity.
_NONE: frozenset[str] = frozenset()
_CLOTHING_WORDS = (
    "clothes",
    "clothing",
    "clothed",
    "dress",
    "shirt",
    "pants",
    "bra",
    "underwear",
    "bikini",
    "swimsuit",
    "top",
    "garments",
)
_PERSON = frozenset(
    {
        "woman",
        "women",
        "man",
        "men",
        "girl",
        "girls",
        "boy",
        "boys",
        "person",
        "people",
        "lady",
        "ladies",
        "guy",
        "model",
        "female",
        "male",
        "wife",
        "husband",
        "actress",
        "teen",
        "child",
        "kid",
    }
)
_AGE_WORDS = ("yo", "yr", "yrs", "year", "years")
# A negation and what follows it up to punctuation (bounded, no backtracking blow-up).
_NEGATION = re.compile(r"\b(?:no|without|not|non|never|zero|sans)\b[\s-]+([^,.;:!?\n]{1,80})")
# Terms that collapse to fewer letters than this ("kkk" -> "k") match only uncollapsed.
_SHORTEST = 3

RULE_NAMES = {
    "minors": "sexual content involving minors",
    "sexual": "nudity and sexual content",
    "violence": "gore and shocking imagery",
    "hate": "hate symbols and slurs",
    "public_figure": "misleading or humiliating depictions of real people",
    "self_harm": "self-harm",
    "illegal": "illegal activity",
}


@dataclass(frozen=True)
class Policy:
    """A deployment's or guild's additions: extra terms per category and allowed terms."""

    extra_terms: Mapping[str, frozenset[str]] = field(default_factory=dict)
    allow_terms: frozenset[str] = frozenset()

    def __hash__(self) -> int:  # rules are built once per distinct policy
        return hash((frozenset(self.extra_terms.items()), self.allow_terms))

    @classmethod
    def with_lexicon(cls, path: Path, category: str = "hate") -> Policy:
        """Add a private term file (one per line, # comments), e.g. slurs kept out of the repo."""
        return cls(extra_terms={category: frozenset(_read_terms(path.read_text()))})


@dataclass(frozen=True)
class TermList:
    """One category's terms, ready for matching."""

    words: frozenset[str]  # single words, collapsed
    phrases: tuple[str, ...]  # multi-word, collapsed word by word, space-joined
    fuzzy: tuple[str, ...]  # single words that also match with one typo
    repeated: tuple[str, ...] = ()  # words that collapse to under 3 letters ("kkk", "xxx")
    respelled: frozenset[str] = frozenset()  # words whose collapsed form is another word
    shown: Mapping[str, str] = field(default_factory=dict, hash=False)  # matching form -> as listed
    fuzzy_by_first: Mapping[str, frozenset[str]] = field(default_factory=dict, hash=False)
    fuzzy_by_last: Mapping[str, frozenset[str]] = field(default_factory=dict, hash=False)
    by_length: Mapping[int, tuple[str, ...]] = field(default_factory=dict, hash=False)

    def _meant(self, word: str, text: Text) -> bool:
        """ "bobs" collapses like "boobs", but written as an ordinary word it is that word."""
        return word not in self.respelled or word in text.odd or self.shown[word] in text.spelled

    def _fuzzy_candidates(self, word: str) -> frozenset[str]:
        """One edit leaves the first or the last letter in place: only those terms can match."""
        return self.fuzzy_by_first.get(word[0], _NONE) | self.fuzzy_by_last.get(word[-1], _NONE)

    @classmethod
    def build(cls, terms: Iterable[str]) -> TermList:
        words, phrases, fuzzy, repeated, shown = set(), [], [], [], {}
        respelled = set()
        for raw in terms:
            typo_ok = raw.startswith("~")
            listed = raw.lstrip("~")
            parts = tokens(listed).words
            key = " ".join(parts)
            if len(parts) == 1 and len(key) < _SHORTEST and len(listed) >= _SHORTEST:
                repeated.append(listed)
                shown[listed] = listed
                continue
            shown[key] = listed
            if len(parts) == 1:
                words.add(key)
                if key != listed:
                    respelled.add(key)
                if typo_ok:
                    fuzzy.append(key)
            elif parts:
                phrases.append(key)
        by_first: dict[str, set[str]] = {}
        by_last: dict[str, set[str]] = {}
        for term in fuzzy:
            by_first.setdefault(term[0], set()).add(term)
            by_last.setdefault(term[-1], set()).add(term)
        return cls(
            frozenset(words),
            tuple(phrases),
            tuple(fuzzy),
            tuple(repeated),
            frozenset(respelled),
            shown,
            {k: frozenset(v) for k, v in by_first.items()},
            {k: frozenset(v) for k, v in by_last.items()},
            {n: tuple(w for w in words if len(w) == n) for n in {len(w) for w in words}},
        )

    def hits(self, text: Text, allowed: frozenset[str]) -> list[str]:
        found = [w for w in text.words if w in self.words and self._meant(w, text)]
        found += [p for p in self.phrases if f" {p} " in text.joined]
        found += [t for t in self.words if any(t in run for run in text.runs)]
        found += [p for p in self.phrases if any(p.replace(" ", "") in r for r in text.runs)]
        found += [
            t for m in text.masked for t in self.by_length.get(len(m), ()) if _wildcard_match(m, t)
        ]
        found += [w for v in text.variants for w in v.split() if w in self.words]
        found += [p for p in self.phrases if f" {p} " in text.variant_text]
        found += [
            t
            for t in self.repeated
            for w in text.uncollapsed
            if len(w) >= len(t) and collapse(w) == collapse(t)
        ]
        if self.fuzzy:
            found += [
                t
                for w in text.long_words
                if w not in self.words and w in text.odd
                for t in self._fuzzy_candidates(w)
                if abs(len(w) - len(t)) <= 1 and within_one_edit(w, t)
            ]
        return list(dict.fromkeys(self.shown.get(t, t) for t in found if t not in allowed))


@dataclass(frozen=True)
class Text:
    """One side of a prompt (its concepts, or its excluded items) in matching form."""

    words: tuple[str, ...]
    joined: str
    runs: tuple[str, ...]
    masked: tuple[str, ...]
    long_words: tuple[str, ...]
    raw: str
    uncollapsed: tuple[str, ...] = ()
    variants: tuple[str, ...] = ()
    variant_text: str = ""  # the variants as " a b | c d ", for phrases
    spelled: frozenset[str] = frozenset()  # the words as written (letters, uncollapsed)
    odd: frozenset[str] = frozenset()  # collapsed forms of words that are not known words
    whole: Text | None = None  # with its negated words ("no blood") too, if it had any

    @classmethod
    def of(cls, parts: Sequence[str], innocent: tuple[str, ...] = ()) -> Text:
        """The Text of parts already passed through `normalize`."""
        raw = " \n ".join(parts)
        t: Tokens = tokens(raw, normalized=True)
        joined = f" {' '.join(t.words)} "
        for phrase in innocent:  # "magna cum laude" is not about "cum"
            joined = joined.replace(f" {phrase} ", " ")
        words = tuple(joined.split())
        long_words = tuple({w for w in words if len(w) >= 6})
        return cls(
            words,
            f" {' '.join(words)} ",
            t.joined_runs,
            t.masked,
            long_words,
            raw,
            t.uncollapsed,
            t.variants,
            f" {' | '.join(t.variants)} ",
            frozenset(t.uncollapsed),
            frozenset(collapse(w) for w in t.uncollapsed if not known_word(w)),
        )


class Rule(Protocol):
    @property
    def name(self) -> str: ...

    def check(self, positive: Text, negative: Text) -> Verdict | None: ...


@dataclass(frozen=True)
class CategoryRule:
    """Any listed term of one category blocks."""

    name: str
    terms: TermList
    allowed: frozenset[str]

    def check(self, positive: Text, negative: Text) -> Verdict | None:
        found = self.terms.hits(positive, self.allowed)
        return blocked(self.name, found) if found else None


@dataclass(frozen=True)
class MinorsRule:
    """Sexual or suggestive terms together with young-person or under-18 age terms: zero
    tolerance."""

    name = "minors"
    sexual: TermList
    young: TermList
    allowed: frozenset[str]

    def check(self, positive: Text, negative: Text) -> Verdict | None:
        positive = positive.whole or positive  # negation never excuses minors
        sexual = self.sexual.hits(positive, self.allowed)
        if not sexual:
            return None
        young = self.young.hits(positive, self.allowed) + _minor_ages(positive.raw)
        return blocked(self.name, [*sexual, *young]) if young else None


@dataclass(frozen=True)
class UndressRule:
    """`--no clothes` or "without clothes" on a person is a nudity request, though written
    as an exclusion."""

    name = "sexual"

    def check(self, positive: Text, negative: Text) -> Verdict | None:
        removed = _CLOTHING.hits(negative, frozenset())
        if removed and _PERSON.intersection(positive.words):
            return blocked(self.name, removed)
        return None


@dataclass(frozen=True)
class PublicFigureRule:
    """A real person together with sexual, violent or humiliating context."""

    name = "public_figure"
    people: TermList
    context: tuple[TermList, ...]
    allowed: frozenset[str]

    def check(self, positive: Text, negative: Text) -> Verdict | None:
        people = self.people.hits(positive, self.allowed)
        if not people:
            return None
        context = [t for terms in self.context for t in terms.hits(positive, self.allowed)]
        return blocked(self.name, [*people, *context]) if context else None


_CLOTHING = TermList.build(_CLOTHING_WORDS)


def blocked(category: str, matched: Iterable[str]) -> Verdict:
    terms = tuple(dict.fromkeys(matched))
    return Verdict(
        allowed=False,
        category=category,
        matched=terms,
        reason=f"Your prompt breaks the rule on {RULE_NAMES[category]} "
        f"(matched: {', '.join(terms)}).",
        appealable=category not in ZERO_TOLERANCE,
    )


def check_prompt(
    positive: Sequence[str], negative: Sequence[str] = (), policy: Policy | None = None
) -> Verdict:
    """Verdict for a prompt's concepts (`positive`) and excluded items (`negative`)."""
    written = [normalize(p) for p in positive]
    kept, negated = _negations(written)
    pos = Text.of(kept, _innocent_phrases())
    neg = Text.of([*(normalize(n) for n in negative), *negated])
    if negated:
        pos = replace(pos, whole=Text.of(written, _innocent_phrases()))
    for rule in rules(policy or Policy()):
        verdict = rule.check(pos, neg)
        if verdict is not None:
            return verdict
    return ALLOWED


@cache
def rules(policy: Policy) -> tuple[Rule, ...]:
    """The rules in the order they are tried (most severe first), built once per policy."""
    allowed = frozenset(collapse(w) for t in policy.allow_terms for w in tokens(t).words)
    allowed |= frozenset(" ".join(tokens(t).words) for t in policy.allow_terms)

    def terms(category: str) -> TermList:
        extra = policy.extra_terms.get(category, frozenset())
        return TermList.build([*_builtin(category), *extra])

    sexual = terms("sexual")
    violence = terms("violence")
    suggestive = TermList.build([*_builtin("sexual"), *_builtin("suggestive")])
    built: list[Rule] = [
        MinorsRule(suggestive, terms("minors"), allowed),
        UndressRule(),
        PublicFigureRule(
            terms("public_figures"), (sexual, violence, terms("humiliating")), allowed
        ),
    ]
    built += [CategoryRule(c, terms(c), allowed) for c in _TERM_CATEGORIES]
    return tuple(built)


@cache
def _innocent_phrases() -> tuple[str, ...]:
    phrases = (" ".join(tokens(p).words) for p in _builtin("allow"))
    return tuple(sorted(phrases, key=len, reverse=True))


@cache
def _builtin(name: str) -> tuple[str, ...]:
    path = files("moderation") / "data" / f"{name}.txt"
    return tuple(_read_terms(path.read_text(encoding="utf-8")))


def _read_terms(text: str) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return [line.casefold() for line in lines if line]


def _negations(parts: Sequence[str]) -> tuple[list[str], list[str]]:
    """Split normalised "a field, no blood" into what is asked for and what is excluded: up to three
    words after a negation, until punctuation."""
    kept, negated = [], []
    for text in parts:
        negated += [" ".join(m.group(1).split()[:3]) for m in _NEGATION.finditer(text)]
        kept.append(_NEGATION.sub(lambda m: " , " + " ".join(m.group(1).split()[3:]), text))
    return kept, negated


def _wildcard_match(masked: str, term: str) -> bool:
    """`n*de` matches `nude`: each * stands for one letter; at least two letters must agree."""
    if masked.count("*") > len(term) // 2:
        return False
    return all(m == "*" or m == t for m, t in zip(masked, term, strict=True))


def _minor_ages(raw: str) -> list[str]:
    """Under-18 ages written out: "12 year old", "15yo", "16 yrs"."""
    words = normalize(raw).replace("-", " ").replace("/", "").split()
    found = []
    for i, word in enumerate(words):
        digits = "".join(c for c in word if c.isdigit())
        if not digits or len(digits) > 2 or int(digits) >= 18:
            continue
        suffix = word[len(digits) :] if word.startswith(digits) else ""
        follows = words[i + 1] if i + 1 < len(words) else ""
        if suffix in _AGE_WORDS or follows in _AGE_WORDS:
            found.append(f"{digits} years old")
    return found
