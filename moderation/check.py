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
from functools import cache, lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Protocol

from moderation.matching import TermList, Terms, Text, find
from moderation.normalize import collapse, normalize, tokens
from moderation.verdict import ALLOWED, Verdict

CATEGORIES = (
    "minors",
    "child_abuse",
    "sexual",
    "violence",
    "hate",
    "public_figure",
    "animal_cruelty",
    "self_harm",
    "illegal",
)
ZERO_TOLERANCE = frozenset({"minors", "child_abuse"})
_TERM_CATEGORIES = ("sexual", "violence", "hate", "self_harm", "illegal")
# Excluding these from a person asks for nudity.
_NONE: frozenset[str] = frozenset()
_CLOTHING_WORDS = ("clothes", "clothing", "clothed", "garments", "underwear", "pants", "panties")
# Without these a woman is topless; a man may be.
_TOP_WORDS = ("shirt", "top", "bra", "dress", "bikini", "swimsuit", "blouse")
_FEMALE = frozenset(
    {"woman", "women", "girl", "girls", "lady", "ladies", "female", "wife", "actress", "she"}
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
# Ages under 18 in words ("eight-year-old"; "twenty eight years" is an adult: see _TENS).
_NUMBER_WORDS = {
    word: n
    for n, word in enumerate(
        [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
            "thirteen",
            "fourteen",
            "fifteen",
            "sixteen",
            "seventeen",
        ]
    )
    if n
}
_TENS = frozenset(["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"])
_ORDINALS = frozenset({"st", "nd", "rd", "th"})
_GRADE_WORDS = frozenset({"grade", "grader", "graders", "form", "year"})
# A negation and what follows it up to punctuation (bounded, no backtracking blow-up).
_NEGATION = re.compile(r"\b(?:no|without|not|non|never|zero|sans)\b[\s-]+([^,.;:!?\n]{1,80})")
# An artist credit: "by", "style of", "after" and a name of up to three words, more names
# joined by "and" (not by commas: a comma may start what the prompt depicts).
_NAME = r"[^\W\d_]+(?:[\s.-]+[^\W\d_]+){0,2}"
_CREDIT = re.compile(rf"\b(?:by|style of|after)\s+{_NAME}(?:\s+(?:and|&)\s+{_NAME})*")
# Distinct policies (a deployment's and each active guild's) whose rules stay compiled.
RULES_CACHED = 256

RULE_NAMES = {
    "minors": "sexual content involving minors",
    "child_abuse": "abuse of children",
    "animal_cruelty": "cruelty to animals",
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


class Rule(Protocol):
    @property
    def name(self) -> str: ...

    def check(self, positive: Text, negative: Text) -> Verdict | None: ...


@dataclass(frozen=True)
class CategoryRule:
    """Any listed term of one category blocks."""

    name: str
    terms: Terms
    allowed: frozenset[str]

    def check(self, positive: Text, negative: Text) -> Verdict | None:
        # A real person's name is not its words: "Al Gore" is not gore.
        found = find(self.terms, positive.unnamed or positive, self.allowed)
        return blocked(self.name, found) if found else None


@dataclass(frozen=True)
class MinorsRule:
    """Sexual or suggestive terms together with young-person or under-18 age terms: zero
    tolerance."""

    name = "minors"
    sexual: Terms
    young: Terms
    allowed: frozenset[str]

    def check(self, positive: Text, negative: Text) -> Verdict | None:
        positive = positive.whole or positive  # negation never excuses minors
        sexual = find(self.sexual, positive, self.allowed)
        if not sexual:
            return None
        young = find(self.young, positive, self.allowed) + _minor_ages(positive.raw)
        return blocked(self.name, [*sexual, *young]) if young else None


@dataclass(frozen=True)
class UndressRule:
    """`--no clothes` or "without clothes" on a person is a nudity request, though written
    as an exclusion."""

    name = "sexual"

    def check(self, positive: Text, negative: Text) -> Verdict | None:
        removed = find((_CLOTHING,), negative, frozenset())
        if removed and _PERSON.intersection(positive.words):
            return blocked(self.name, removed)
        top = find((_TOPS,), negative, frozenset())
        if top and _FEMALE.intersection(positive.words):
            return blocked(self.name, top)
        return None


@dataclass(frozen=True)
class ContextRule:
    """A subject together with a context that makes it a breach: a real person with sexual,
    violent or humiliating context, a child with abuse, an animal with cruelty. Either alone
    is fine. With `negation_excuses` off, "no" and "without" change nothing."""

    name: str
    subjects: Terms
    context: Terms
    allowed: frozenset[str]
    negation_excuses: bool = True
    credits_excuse: bool = False  # "by marcel duchamp" names an artist, not a subject
    names_excuse: bool = False  # the subjects' own words are no context ("al gore")

    def check(self, positive: Text, negative: Text) -> Verdict | None:
        if not self.negation_excuses:
            positive = positive.whole or positive
        named = positive.uncredited if self.credits_excuse and positive.uncredited else positive
        subjects = find(self.subjects, named, self.allowed)
        if not subjects:
            return None
        around = positive.unnamed if self.names_excuse and positive.unnamed else positive
        context = find(self.context, around, self.allowed)
        return blocked(self.name, [*subjects, *context]) if context else None


_CLOTHING = TermList.build(_CLOTHING_WORDS)
_TOPS = TermList.build(_TOP_WORDS)


def blocked(category: str, matched: Iterable[str]) -> Verdict:
    terms = tuple(dict.fromkeys(matched))
    return Verdict(
        allowed=False,
        category=category,
        matched=terms,
        reason=f"Your prompt breaks the rule on {RULE_NAMES[category]} "
        f"(matched: {', '.join(terms)}).",
        appealable=category not in ZERO_TOLERANCE,
        layer="terms",
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
    if any(_CREDIT.search(part) for part in kept):
        uncredited = [_CREDIT.sub(" , ", part) for part in kept]
        pos = replace(pos, uncredited=Text.of(uncredited, _innocent_phrases()))
    built = rules(policy or Policy())
    names = _people_named(built, pos)
    if names:
        pos = replace(pos, unnamed=Text.of(kept, (*_innocent_phrases(), *names)))
    for rule in built:
        verdict = rule.check(pos, neg)
        if verdict is not None:
            return verdict
    return ALLOWED


def _people_named(built: Sequence[Rule], text: Text) -> tuple[str, ...]:
    """The real people's names a prompt holds (the public-figure rule's subjects), in the
    matching form of its words."""
    rule = next(r for r in built if isinstance(r, ContextRule) and r.name == "public_figure")
    names = find(rule.subjects, text, rule.allowed)
    return tuple(" ".join(tokens(name).words) for name in names)


@lru_cache(maxsize=RULES_CACHED)
def rules(policy: Policy) -> tuple[Rule, ...]:
    """The rules in the order they are tried (most severe first), built once per policy: the
    built-in lists are compiled once for all, a policy's own terms once per policy."""
    allowed = frozenset(collapse(w) for t in policy.allow_terms for w in tokens(t).words)
    allowed |= frozenset(" ".join(tokens(t).words) for t in policy.allow_terms)

    def terms(category: str) -> Terms:
        extra = policy.extra_terms.get(category)
        return (_compiled(category), TermList.build(extra)) if extra else (_compiled(category),)

    sexual = terms("sexual")
    violence = terms("violence")
    young = terms("minors")
    built: list[Rule] = [
        MinorsRule((*sexual, _compiled("suggestive")), young, allowed),
        ContextRule("child_abuse", young, terms("child_abuse"), allowed, negation_excuses=False),
        UndressRule(),
        ContextRule(
            "public_figure",
            (*terms("public_figures"), _compiled("public_figures_more")),
            (*sexual, *violence, *terms("humiliating")),
            allowed,
            credits_excuse=True,
            names_excuse=True,
        ),
        ContextRule("animal_cruelty", terms("animals"), terms("animal_cruelty"), allowed),
    ]
    built += [CategoryRule(c, terms(c), allowed) for c in _TERM_CATEGORIES]
    return tuple(built)


# Lists whose terms also match their inflections (see TermList.build).
_INFLECTED = frozenset(
    {"sexual", "violence", "hate", "self_harm", "illegal", "child_abuse", "animal_cruelty"}
    | {"minors", "suggestive"}
)


@cache
def _compiled(name: str) -> TermList:
    return TermList.build(builtin_terms(name), inflect=name in _INFLECTED)


@cache
def _innocent_phrases() -> tuple[str, ...]:
    phrases = (" ".join(tokens(p).words) for p in builtin_terms("allow"))
    return tuple(sorted(phrases, key=len, reverse=True))


@cache
def builtin_terms(name: str) -> tuple[str, ...]:
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


def _minor_ages(raw: str) -> list[str]:
    """Under-18 ages written out: "12 year old", "15yo", "16 yrs", "eight-year-old", and school
    grades ("6th grade", "grade 6")."""
    words = normalize(raw).replace("-", " ").replace("/", "").split()
    found = []
    for i, word in enumerate(words):
        before = words[i - 1] if i else ""
        follows = words[i + 1] if i + 1 < len(words) else ""
        if word in _NUMBER_WORDS and follows in _AGE_WORDS and before not in _TENS:
            found.append(f"{_NUMBER_WORDS[word]} years old")
            continue
        digits = "".join(c for c in word if c.isdigit())
        if not digits or len(digits) > 2 or int(digits) >= 18:
            continue
        if before.isdigit():  # "3 5 years old" is 35
            continue
        suffix = word[len(digits) :] if word.startswith(digits) else ""
        if suffix in _AGE_WORDS or follows in _AGE_WORDS or before in ("age", "aged"):
            found.append(f"{digits} years old")
        elif (suffix in _ORDINALS and follows in _GRADE_WORDS) or before in _GRADE_WORDS:
            found.append(f"grade {digits}")
    return found
