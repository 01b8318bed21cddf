"""Text normalisation that undoes the usual filter evasions before any matching.

`normalize` gives plain lower-case Latin text; `tokens` splits it into words the matcher
compares, with evasions undone: look-alike letters, leetspeak inside words, invisible and
bidi characters, accents, emoji for young people and sex, letters spaced out ("n u d e",
"n.s.f.w"), words split by punctuation ("nu:: de"), words glued together ("nakedwoman") and
repeated letters. Numbers with units ("8k", "8 k", "2x2", "35mm") are never read as letters.
Everything here is linear in the input: no backtracking regular expressions.
"""

from __future__ import annotations

import gzip
import re
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

import wordninja

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
_LEET_CHAR = re.compile("[" + re.escape("".join(map(chr, _LEET))) + "]")
_LETTER = re.compile(r"[^\W\d_]")
_NOT_LETTER = re.compile(r"[\W\d_]+")
_NOT_LETTER_OR_WILDCARD = re.compile(r"[^\w*]+|[\d_]+")
# Punctuation that is leetspeak inside a word ("n!pple") but only punctuation at its edges
# ("nude!"): both readings are kept.
_EDGE_PUNCTUATION = "!|"
_WILDCARD = "*"
_REPEATS = re.compile(r"(.)\1+")
# A word: letters, digits, leet characters and the * wildcard; anything else separates.
# A single character class repeated: linear, no backtracking.
_WORD = re.compile(r"(?:[^\W_]|[@$!|€*])+")
# A number, maybe with a unit or a size: "8k", "4k", "35mm", "1080p", "2x2", "1920s",
# "15yo". Never leetspeak, never part of a spaced-out run.
_MEASURE = re.compile(
    r"\d+(?:x\d+)*(?:k|x|p|d|s|mm|cm|m|km|px|fps|mp|th|st|nd|rd|yo|yr|yrs|h|hr|hrs|am|pm"
    r"|gb|tb|mb|in|ft|ml|kg|g|lb|lbs|v|w|hz|bit)?"
)
# Separators across which split fragments are joined again ("nu:: de", "nu-de", "nu.de");
# spaces and commas alone never join words.
_PLAIN_GAP = frozenset(" \t,;")
# Combining accents and invisible characters: zero-width space/joiners, soft hyphen, bidi
# embeddings and isolates (U+202A-202E, U+2066-2069), variation selectors, Hangul fillers,
# tag characters and skin-tone modifiers.
_MARKS = re.compile(
    "[\u0300-\u036f\u1ab0-\u1aff\u20d0-\u20ff\u00ad\u061c\u115f\u1160\u17b4\u17b5"
    "\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u2069\u3164\ufe00-\ufe0f\ufeff"
    "\uffa0\U000e0000-\U000e007f\U000e0100-\U000e01ef\U0001f3fb-\U0001f3ff]"
)
# Emoji that stand for young people, or for sex, read as words. The sexual ones become a
# marker listed with the suggestive terms: alone they block nothing, next to a young person
# they are zero tolerance.
_EMOJI_WORDS = {
    "👧": " little girl ",
    "👦": " little boy ",
    "🧒": " child ",
    "👶": " baby ",
    "🍼": " baby ",
    "🚸": " children ",
    "🎒": " schoolchild ",
    "🔞": " nsfw ",
    "🍆": " sexemoji ",
    "🍑": " sexemoji ",
    "💦": " sexemoji ",
    "👅": " sexemoji ",
    "🥵": " sexemoji ",
    "🫦": " sexemoji ",
    "👙": " bikini ",
    "🩲": " underwear ",
}
_EMOJI = re.compile("|".join(_EMOJI_WORDS))
# Glued words ("nakedwoman") are split when at least this long and not a known word; the
# split costs about 7 us a letter, so a text gets a budget of letters to split.
_GLUED_MIN = 6
_GLUED_MAX = 24
_GLUED_LETTERS_PER_TEXT = 120
_GLUED_PART_MIN = 3  # "gorean" is not "gore an"
# Spaced-out letters are searched for terms in runs of at most this many ("n u d e" is 4; a
# longer run of lone letters is no word a reader or a model would see).
_RUN_MAX = 256


def normalize(text: str) -> str:
    """NFKC, case folding, confusables to Latin, emoji to words, accents and invisible
    characters removed."""
    if text.isascii():
        return text.lower()
    text = _EMOJI.sub(lambda m: _EMOJI_WORDS[m.group()], text)
    text = unicodedata.normalize("NFKC", text).casefold()
    return _MARKS.sub("", unicodedata.normalize("NFKD", text.translate(_CONFUSABLES)))


@dataclass(frozen=True)
class Tokens:
    """The words of a text in matching form, and the other ways of reading them."""

    words: tuple[str, ...]  # letters only, repeated letters collapsed
    joined_runs: tuple[str, ...]  # "n u d e" -> "nude": searched for terms as substrings
    masked: tuple[str, ...]  # words with * in them ("n*de"): wildcard letters
    uncollapsed: tuple[str, ...]  # words and runs before collapsing, for terms like "kkk"
    raw_runs: tuple[str, ...]  # joined_runs before collapsing
    variants: tuple[str, ...]  # other readings, each words joined by spaces: "nude!" as
    # "nudei", "nu:: de" as "nude", "nakedwoman" as "naked woman"


@lru_cache(maxsize=8192)
def collapse(word: str) -> str:
    """Repeated letters to one ("nuuuude" -> "nude"); terms are compared collapsed too."""
    return _REPEATS.sub(r"\1", word)


def tokens(text: str, normalized: bool = False) -> Tokens:
    """The tokens of `text` (already passed through `normalize` if `normalized`)."""
    reader = _Reader()
    for match in _WORD.finditer(text if normalized else normalize(text)):
        reader.read(match.group(), match.string[reader.end : match.start()])
        reader.end = match.end()
    return reader.done()


class _Reader:
    """One pass over a text's raw words, left to right."""

    def __init__(self) -> None:
        self.end = 0
        self.words: list[str] = []
        self.uncollapsed: list[str] = []
        self.masked: list[str] = []
        self.runs: list[str] = []
        self.raw_runs: list[str] = []
        self.variants: list[str] = []
        self.run: list[str] = []
        self.after_number = False
        self.fragment = ""  # the previous word's letters, if a split could continue it
        self.glued_budget = _GLUED_LETTERS_PER_TEXT

    def read(self, raw: str, gap: str) -> None:
        if len(raw) == 1 and not self.after_number and raw.isalpha():  # the common case
            self.run.append(raw)
            self._rejoin(raw, gap)
            self.words.append(raw)
            self.uncollapsed.append(raw)
            return
        if (raw[0].isdigit() and _MEASURE.fullmatch(raw)) or (self.after_number and len(raw) == 1):
            self.after_number = raw[0].isdigit()  # "8 k", "2 x 2": the letter is a unit
            self._close_run()
            self.fragment = ""
            return
        self.after_number = False
        letters = self._letters(raw)
        if len(letters) == 1:
            self.run.append(letters)
        else:
            self._close_run()
        if not letters:
            self.fragment = ""
            return
        self._rejoin(letters, gap)
        self.words.append(collapse(letters))
        self.uncollapsed.append(letters)
        self._split_glued(letters)

    def _rejoin(self, letters: str, gap: str) -> None:
        """A word split by punctuation ("nu:: de"): the two halves joined are a variant
        (single letters on both sides are the runs' business)."""
        previous, self.fragment = self.fragment, letters
        if previous and len(previous) + len(letters) > 2 and not _PLAIN_GAP.issuperset(gap):
            self.variants.append(collapse(previous + letters))

    def _letters(self, raw: str) -> str:
        if raw.isalpha():
            return raw
        if _WILDCARD in raw and _LETTER.search(raw):
            self.masked.append(collapse(_NOT_LETTER_OR_WILDCARD.sub("", raw)))
        core = raw.strip(_EDGE_PUNCTUATION) or raw
        letters = _only_letters(_unleet(core))
        if core != raw:
            whole = _only_letters(_unleet(raw))
            if whole and whole != letters:
                self.variants.append(collapse(whole))
        return letters

    def _split_glued(self, letters: str) -> None:
        if not _GLUED_MIN <= len(letters) <= min(_GLUED_MAX, self.glued_budget):
            return
        if known_word(letters):
            return
        self.glued_budget -= len(letters)
        parts = wordninja.split(letters)
        if len(parts) > 1 and all(len(p) >= _GLUED_PART_MIN for p in parts):
            self.variants.append(" ".join(collapse(p) for p in parts))

    def _close_run(self) -> None:
        if not self.run:
            return
        if len(self.run) >= 3:
            joined = "".join(self.run[:_RUN_MAX])
            self.runs.append(collapse(joined))
            self.raw_runs.append(joined)
            self.uncollapsed.append(joined)
        self.run = []

    def done(self) -> Tokens:
        self._close_run()
        return Tokens(
            tuple(self.words),
            tuple(self.runs),
            tuple(self.masked),
            tuple(self.uncollapsed),
            tuple(self.raw_runs),
            tuple(dict.fromkeys(self.variants)),
        )


def _only_letters(word: str) -> str:
    return _NOT_LETTER.sub("", word)


def _unleet(word: str) -> str:
    if _LEET_CHAR.search(word) and _LETTER.search(word):
        return word.translate(_LEET)
    return word


@cache
def _dictionary() -> frozenset[str]:
    """English words by frequency from Wikipedia, as shipped with wordninja (MIT)."""
    path = Path(wordninja.__file__).parent / "wordninja" / "wordninja_words.txt.gz"
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return frozenset(f.read().split())


def known_word(word: str) -> bool:
    """An ordinary word: never split as glued, never read as a typo of a term."""
    return word in _dictionary()


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
