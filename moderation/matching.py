"""Term lists compiled for matching, and prompt text in the form they match against.

A TermList answers "which of my terms are in this text" in time that grows with the text,
not with the list: single words by set lookup, phrases and spaced-out runs through one
Aho-Corasick automaton (pyahocorasick, BSD-3-Clause), typos through an index of every term
with one letter deleted (a word within one edit of a term shares a deletion with it).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import islice

import ahocorasick

from moderation.normalize import Tokens, collapse, known_word, tokens, within_one_edit

# Terms that collapse to fewer letters than this ("kkk" -> "k") match only written out.
SHORTEST = 3
# Words of this many letters may match a "~" term with one typo: the first this many
# distinct ones that are not known words (typos are a second net under the exact match).
_TYPO_MIN, _TYPO_MAX = 6, 24
_TYPO_WORDS = 128
# Masked words ("n*de") looked up per text: a prompt with more is noise, not an evasion.
_MASKED_WORDS = 32


@dataclass(frozen=True)
class Text:
    """One side of a prompt (its concepts, or its excluded items) in matching form."""

    words: tuple[str, ...]
    joined: str  # " w1 w2 ... | v1 v2 ... ": the words, then each variant reading
    runs: tuple[str, ...]
    masked: tuple[tuple[str, tuple[str, ...]], ...]  # "n*de" with where to look it up
    typo_forms: tuple[tuple[str, frozenset[str]], ...]  # long odd words, with each deletion
    raw: str
    repeats: Mapping[str, int]  # a word of one or two letters repeated ("kkkk"): its length
    raw_runs: tuple[str, ...]  # spaced-out runs before collapsing ("a k k k" -> "akkk")
    variant_words: frozenset[str]
    spelled: frozenset[str]  # the words as written (letters, uncollapsed)
    odd: frozenset[str]  # collapsed forms of words that are not known words
    whole: Text | None = None  # with its negated words ("no blood") too, if it had any
    uncredited: Text | None = None  # without artist credits ("by marcel duchamp"), if any
    unnamed: Text | None = None  # without the real people it names ("al gore"), if any
    # Each list's hits, found once however many rules ask (keyed by the list and allowed).
    found: dict[tuple[int, frozenset[str]], list[str]] = field(
        default_factory=dict, compare=False, repr=False
    )

    @classmethod
    def of(cls, parts: Sequence[str], innocent: tuple[str, ...] = ()) -> Text:
        """The Text of parts already passed through `normalize`."""
        raw = " \n ".join(parts)
        t: Tokens = tokens(raw, normalized=True)
        joined = f" {' '.join(t.words)} "
        for phrase in innocent:  # "magna cum laude" is not about "cum"
            joined = joined.replace(f" {phrase} ", " ")
        words = tuple(joined.split())
        odd = frozenset(collapse(w) for w in t.uncollapsed if not known_word(w))
        return cls(
            words=words,
            joined=" | ".join((f" {' '.join(words)}", *t.variants)) + " ",
            runs=t.joined_runs,
            masked=tuple(
                (m, tuple(_mask_keys(m))) for m in islice(dict.fromkeys(t.masked), _MASKED_WORDS)
            ),
            typo_forms=tuple(
                (w, frozenset((w, *_deletions(w))))
                for w in islice(
                    (
                        w
                        for w in dict.fromkeys(words)
                        if _TYPO_MIN <= len(w) <= _TYPO_MAX and w in odd
                    ),
                    _TYPO_WORDS,
                )
            ),
            raw=raw,
            repeats=_repeats(t.uncollapsed),
            raw_runs=t.raw_runs,
            variant_words=frozenset(w for v in t.variants for w in v.split()),
            spelled=frozenset(t.uncollapsed),
            odd=odd,
        )


@dataclass(frozen=True, eq=False)
class TermList:
    """One list of terms, ready for matching."""

    words: frozenset[str]  # single words, collapsed
    repeated: tuple[str, ...]  # words that collapse to under 3 letters ("kkk", "xxx")
    respelled: Mapping[str, frozenset[str]]  # collapsed word -> its listed forms, for words
    # never listed as they collapse ("boobs" is listed, "bobs" is not)
    shown: Mapping[str, str]  # matching form -> as listed
    typos: Mapping[str, frozenset[str]]  # "~" term with one letter deleted -> terms
    longest_typo: int  # the longest word that can be one edit from a "~" term
    # Words by length and one end ("n***" and "***e" are keys of "nude"), for masked words
    masks: Mapping[str, tuple[str, ...]]
    phrases: ahocorasick.Automaton | None = field(default=None, repr=False)  # " a b "
    runs: ahocorasick.Automaton | None = field(default=None, repr=False)  # every term, unspaced

    @classmethod
    def build(cls, terms: Iterable[str], inflect: bool = False) -> TermList:
        """Compile `terms` ("~" before a term: also with one typo). With `inflect`, each term
        also matches its inflections (lemminflect, MIT: "stab" -> "stabs", "stabbed",
        "stabbing"; a phrase's last word in the plural), unless marked "=" (exact only)."""
        if inflect:
            terms = _with_inflections(terms)
        words: set[str] = set()
        repeated: list[str] = []
        forms: dict[str, set[str]] = {}
        shown: dict[str, str] = {}
        typos: dict[str, set[str]] = {}
        phrases, runs = ahocorasick.Automaton(), ahocorasick.Automaton()
        for raw in terms:
            listed = raw.lstrip("~=")
            parts = tokens(listed).words
            key = " ".join(parts)
            if not parts:
                continue
            if len(parts) == 1 and len(key) < SHORTEST:
                if len(listed) >= SHORTEST:
                    repeated.append(listed)
                    shown[listed] = listed
                continue
            shown[key] = listed
            runs.add_word(key.replace(" ", ""), key)
            if len(parts) > 1:
                phrases.add_word(f" {key} ", key)
                continue
            words.add(key)
            forms.setdefault(key, set()).add(listed)
            if raw.startswith("~"):
                for variant in {key, *_deletions(key)}:
                    typos.setdefault(variant, set()).add(key)
        masks: dict[str, list[str]] = {}
        for word in words:
            for key in (*_mask_keys(word), str(len(word))):
                masks.setdefault(key, []).append(word)
        return cls(
            frozenset(words),
            tuple(repeated),
            {k: frozenset(v) for k, v in forms.items() if k not in v},
            shown,
            {k: frozenset(v) for k, v in typos.items()},
            max((len(k) + 2 for k in typos), default=0),
            {k: tuple(ws) for k, ws in masks.items()},
            _made(phrases),
            _made(runs),
        )

    def hits(self, text: Text, allowed: frozenset[str]) -> list[str]:
        found = [w for w in text.words if w in self.words and self._meant(w, text)]
        found += [w for w in text.variant_words if w in self.words]
        if self.phrases is not None:
            found += [key for _, key in self.phrases.iter(text.joined)]
        if self.runs is not None:
            found += [key for run in text.runs for _, key in self.runs.iter(run)]
        found += [
            t
            for m, keys in text.masked
            for t in dict.fromkeys(t for k in keys for t in self.masks.get(k, ()))
            if _wildcard_match(m, t)
        ]
        found += [
            t
            for t in self.repeated
            if text.repeats.get(collapse(t), 0) >= len(t) or any(t in r for r in text.raw_runs)
        ]
        if self.typos:
            found += [
                t
                for w, forms in text.typo_forms
                if len(w) <= self.longest_typo and w not in self.words
                for form in self.typos.keys() & forms
                for t in self.typos[form]
                if within_one_edit(w, t)
            ]
        return list(dict.fromkeys(self.shown.get(t, t) for t in found if t not in allowed))

    def _meant(self, word: str, text: Text) -> bool:
        """ "bobs" collapses like "boobs", but written as an ordinary word it is that word."""
        forms = self.respelled.get(word)
        return forms is None or word in text.odd or not forms.isdisjoint(text.spelled)


def _with_inflections(terms: Iterable[str]) -> Iterator[str]:
    for raw in terms:
        yield raw
        if not raw.startswith("="):
            yield from inflections(raw.lstrip("~"))


# Noun plurals and verb forms; never adjective degrees ("nuder").
_INFLECTION_TAGS = ("NNS", "VBD", "VBG", "VBN", "VBZ")


@lru_cache(maxsize=4096)
def inflections(term: str) -> tuple[str, ...]:
    """Other forms of a listed term: of a word, its plural and verb forms; of a phrase, its
    last word in the plural ("severed head" -> "severed heads")."""
    from lemminflect import getAllInflections

    *first, last = term.split()
    if not last.isalpha():
        return ()
    # Only from the form as listed: going through lemmas reads "lynched" as "lynch" (David
    # Lynch) and "hanged" as "hanging".
    found = getAllInflections(last, upos="NOUN" if first else None)
    tags = ("NNS",) if first else _INFLECTION_TAGS
    forms = {form for tag in tags for form in found.get(tag, ())}
    return tuple(" ".join((*first, form)) for form in sorted(forms - {last}))


def _made(automaton: ahocorasick.Automaton) -> ahocorasick.Automaton | None:
    if not len(automaton):
        return None
    automaton.make_automaton()
    return automaton


def _repeats(words: Iterable[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for word in words:
        if len(word) < SHORTEST:
            continue
        short = collapse(word)
        if len(short) < SHORTEST:
            found[short] = max(found.get(short, 0), len(word))
    return found


def _mask_keys(word: str) -> list[str]:
    """Where a term is filed, and where a masked word looks: by length and first letter, by
    length and last letter, and by length alone when both ends are masked ("*ud*")."""
    n = len(word)
    keys = [f"{n}<{word[0]}"] if word[0] != "*" else []
    keys += [f"{n}>{word[-1]}"] if word[-1] != "*" else []
    return keys or [str(n)]


def _typo_forms(
    words: Iterable[str], odd: frozenset[str]
) -> tuple[tuple[str, frozenset[str]], ...]:
    candidates = (w for w in dict.fromkeys(words) if _TYPO_MIN <= len(w) <= _TYPO_MAX)
    checked = islice((w for w in candidates if w in odd), _TYPO_WORDS)
    return tuple((w, frozenset((w, *_deletions(w)))) for w in checked)


def _deletions(word: str) -> list[str]:
    return [word[:i] + word[i + 1 :] for i in range(len(word))]


def _wildcard_match(masked: str, term: str) -> bool:
    """`n*de` matches `nude`: each * stands for one letter; at least two letters must agree."""
    if masked.count("*") > len(term) // 2:
        return False
    return all(m == "*" or m == t for m, t in zip(masked, term, strict=True))


Terms = tuple["TermList", ...]


def find(terms: Terms, text: Text, allowed: frozenset[str]) -> list[str]:
    """The terms of all the lists found in `text`, as listed, each once."""
    found = []
    for term_list in terms:
        key = (id(term_list), allowed)
        if key not in text.found:
            text.found[key] = term_list.hits(text, allowed)
        found += text.found[key]
    return list(dict.fromkeys(found))
