"""Text normalisation that undoes the usual filter evasions before any matching.

`normalize` gives plain lower-case Latin text; `tokens` splits it into words the matcher
compares, with evasions undone: look-alike letters, leetspeak inside words, invisible
characters, accents, letters spaced out ("n u d e", "n.s.f.w") and repeated letters.
Everything here is linear in the input: no backtracking regular expressions.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

# Cyrillic and Greek letters that look like Latin ones (full-width forms go through NFKC).
_CONFUSABLES = str.maketrans(
    {
        "а": "a",
        "в": "b",
        "е": "e",
        "ё": "e",
        "к": "k",
        "м": "m",
        "н": "h",
        "о": "o",
        "р": "p",
        "с": "c",
        "т": "t",
        "у": "y",
        "х": "x",
        "і": "i",
        "ї": "i",
        "ј": "j",
        "ѕ": "s",
        "ԁ": "d",
        "һ": "h",
        "ӏ": "l",
        "ɡ": "g",
        "ո": "n",
        "ս": "u",
        "α": "a",
        "β": "b",
        "ε": "e",
        "η": "n",
        "ι": "i",
        "κ": "k",
        "ν": "v",
        "ο": "o",
        "ρ": "p",
        "τ": "t",
        "υ": "u",
        "χ": "x",
        "γ": "y",
        "ω": "w",
        "ѵ": "v",
        "ө": "o",
    }
)
# Leetspeak, undone only inside words that also contain letters ("nud3", "p0rn"), so that
# "4 cats" and "1920s" keep their numbers.
_LEET = str.maketrans(
    {
        "0": "o",
        "1": "i",
        "3": "e",
        "4": "a",
        "5": "s",
        "7": "t",
        "8": "b",
        "@": "a",
        "$": "s",
        "!": "i",
        "|": "l",
        "€": "e",
    }
)
_LEET_CHARS = frozenset("0134578@$!|€")
# Separators people put between letters to split a word ("n.u.d.e", "n-u-d-e", "n u d e").
_WILDCARD = "*"
# A word: letters, digits, leet characters and the * wildcard; anything else separates.
# A single character class repeated: linear, no backtracking.
_REPEATS = re.compile(r"(.)\1+")
_WORD = re.compile(r"(?:[^\W_]|[@$!|€*])+")
# Combining accents and invisible format characters (zero-width space/joiners, soft hyphen).
_MARKS = re.compile(
    "[\u0300-\u036f\u1ab0-\u1aff\u20d0-\u20ff\u200b-\u200f\u2060-\u2064\ufeff\u00ad]"
)


def normalize(text: str) -> str:
    """NFKC, case folding, confusables to Latin, accents and invisible characters removed."""
    if text.isascii():
        return text.lower()
    text = unicodedata.normalize("NFKC", text).casefold().translate(_CONFUSABLES)
    return _MARKS.sub("", unicodedata.normalize("NFKD", text))


@dataclass(frozen=True)
class Tokens:
    """The words of a text in matching form, plus spaced-out runs joined back together."""

    words: tuple[str, ...]
    joined_runs: tuple[str, ...]  # "n u d e" -> "nude": searched for terms as substrings
    masked: tuple[str, ...]  # words with * in them ("n*de"): wildcard letters


@lru_cache(maxsize=8192)
def collapse(word: str) -> str:
    """Repeated letters to one ("nuuuude" -> "nude"); terms are compared collapsed too."""
    return _REPEATS.sub(r"\1", word)


def tokens(text: str) -> Tokens:
    words: list[str] = []
    masked: list[str] = []
    runs: list[str] = []
    run: list[str] = []
    for raw in _split(normalize(text)):
        if raw.isalpha():
            letters = raw
        else:
            if _WILDCARD in raw and any(c.isalpha() for c in raw):
                masked.append(collapse("".join(c for c in raw if c.isalpha() or c == _WILDCARD)))
            letters = "".join(c for c in _unleet(raw) if c.isalpha())
        if len(letters) == 1:
            run.append(letters)
        else:
            _close_run(run, runs)
            run = []
        if letters:
            words.append(collapse(letters))
    _close_run(run, runs)
    return Tokens(tuple(words), tuple(runs), tuple(masked))


def _split(text: str) -> list[str]:
    """Words separated by whitespace or separators; separators inside a word split it too,
    so single letters between separators become one-letter words (joined by the runs)."""
    return _WORD.findall(text)


def _unleet(word: str) -> str:
    if any(c.isalpha() for c in word) and any(c in _LEET_CHARS for c in word):
        return word.translate(_LEET)
    return word


def _close_run(run: list[str], runs: list[str]) -> None:
    if len(run) >= 3:
        runs.append(collapse("".join(run)))


def within_one_edit(a: str, b: str) -> bool:
    """True if a and b differ by one insertion, deletion, substitution or adjacent swap."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    i = 0
    while i < min(la, lb) and a[i] == b[i]:
        i += 1
    if la == lb:
        if a[i + 1 :] == b[i + 1 :]:
            return True
        return i + 1 < la and a[i] == b[i + 1] and a[i + 1] == b[i] and a[i + 2 :] == b[i + 2 :]
    return a[i + 1 :] == b[i:] if la > lb else a[i:] == b[i + 1 :]
