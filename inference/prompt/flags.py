"""The parameter table: every `--flag`, its aliases, the request field it sets and its checks."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from inference.prompt.errors import PromptError
from inference.prompt.permutations import Restore, same

_INT = re.compile(r"-?[0-9]+")
_DECIMAL = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_RATIO = re.compile(r"([0-9]{1,18}):([0-9]{1,18})")
_CODE = re.compile(r"[0-9]{1,40}")
_MODEL = re.compile(r"[a-z0-9][a-z0-9._-]{0,39}")
_REF_WEIGHT = re.compile(r"::-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)\Z")

SEED_MAX = 4294967295
VERSIONS = ("1", "2", "3", "4", "5", "5.1", "5.2", "6", "6.1", "7")
NIJI_VERSIONS = ("4", "5", "6", "7")
NIJI_DEFAULT = "6"
STYLES = ("raw", "4a", "4b", "4c", "cute", "expressive", "original", "scenic")
MAX_ITEMS = 50
"""Most `--no` items in one job (bounds the work of 40 permutation jobs, see body.py)."""
MAX_REFS = 10
"""Most `--sref` or `--cref` references in one job."""
QUALITIES = (Decimal("0.25"), Decimal("0.5"), Decimal("1"), Decimal("2"))


@dataclass(frozen=True)
class Flag:
    """One parameter: canonical name, aliases, the words errors use, and its value check."""

    name: str
    aliases: tuple[str, ...]
    label: str
    field: str
    takes: str  # "value" (required), "optional" (may be bare), "none" (a switch)
    convert: Callable[[Flag, str, str], Any]  # (flag, typed name, value) -> field value
    allowed: str = ""  # the allowed form, for messages


def shown(value: str) -> str:
    """The user's value quoted for a message, on one line and shortened."""
    value = " ".join(value.split())
    return f"'{value}'" if len(value) <= 40 else f"'{value[:37]}...'"


def named(flag: Flag, typed: str) -> str:
    """The parameter as errors name it: its label and the flag as typed (`chaos (--c)`)."""
    return f"--{typed}" if flag.label.startswith("--") else f"{flag.label} (--{typed})"


def invalid(flag: Flag, typed: str, value: str, code: str) -> PromptError:
    """The standard one-sentence error: parameter, flag typed, allowed form, value given."""
    return PromptError(
        f"{named(flag, typed)} must be {flag.allowed}, got {shown(value)}.", code, flag.name
    )


def _int_range(lo: int, hi: int) -> Callable[[Flag, str, str], int]:
    def convert(flag: Flag, typed: str, value: str) -> int:
        # Length check first: int() refuses strings past 4300 digits with a ValueError.
        if len(value) > 20 or not _INT.fullmatch(value) or not lo <= int(value) <= hi:
            raise invalid(flag, typed, value, f"{flag.name}_range")
        return int(value)

    return convert


def _aspect(flag: Flag, typed: str, value: str) -> tuple[int, int]:
    m = _RATIO.fullmatch(value)
    if not m or int(m[1]) == 0 or int(m[2]) == 0:
        raise invalid(flag, typed, value, "aspect_form")
    w, h = int(m[1]), int(m[2])
    g = math.gcd(w, h)
    return w // g, h // g


def _quality(flag: Flag, typed: str, value: str) -> float:
    if len(value) > 40 or not _DECIMAL.fullmatch(value):
        raise invalid(flag, typed, value, "quality_value")
    q = Decimal(value)
    if q > 2:  # the one documented clamp: Midjourney treats anything above 2 as 2
        return 2.0
    if q not in QUALITIES:
        raise invalid(flag, typed, value, "quality_value")
    return float(q)


def _image_weight(flag: Flag, typed: str, value: str) -> float:
    if len(value) > 40 or not _DECIMAL.fullmatch(value) or not 0 <= Decimal(value) <= 3:
        raise invalid(flag, typed, value, "iw_range")
    return float(value)


def _model(flag: Flag, typed: str, value: str) -> str:
    """A model preset's name or alias, as the presets file spells it (checked against the
    models served when the job is made: the parser does not know them)."""
    name = " ".join(value.lower().split())
    if not _MODEL.fullmatch(name):
        raise invalid(flag, typed, value, "model_value")
    return name


def _switch_value(flag: Flag) -> Any:
    if flag.field == "lane":
        return flag.name
    if flag.field == "style":
        return "raw"
    return True


def _choice(choices: tuple[str, ...]) -> Callable[[Flag, str, str], str]:
    def convert(flag: Flag, typed: str, value: str) -> str:
        v = value.lower()
        if v.endswith(".0") and v[:-2] in choices:
            v = v[:-2]
        if v not in choices:
            raise invalid(flag, typed, value, f"{flag.name}_value")
        return v

    return convert


def _too_many(flag: Flag, typed: str, count: int, limit: int) -> PromptError:
    return PromptError(
        f"{named(flag, typed)} has {count} items; at most {limit} are allowed.",
        f"{flag.name}_too_many",
        flag.name,
    )


def _negative(flag: Flag, typed: str, value: str, restore: Restore) -> tuple[str, ...]:
    """`--no` items: split on the bare commas of the parked value, then restored one by one."""
    pieces = value.split(",")
    if len(pieces) > MAX_ITEMS:  # before the per-item work: 40 permutation jobs repeat it
        raise _too_many(flag, typed, len(pieces), MAX_ITEMS)
    items = [" ".join(restore(item).split()) for item in pieces]
    kept = tuple(item for item in items if item)
    if not kept:
        raise no_empty()
    return kept


def no_empty() -> PromptError:
    return PromptError(
        "--no needs a comma-separated list of things to leave out after it, like --no red, cars.",
        "no_empty",
        "no",
    )


def http_host(token: str) -> str | None:
    """For an http(s) link, what follows `://` ('' or '/...' when it has no host); else None."""
    lower = token[:8].lower()
    if lower.startswith("https://"):
        return token[8:]
    if lower.startswith("http://"):
        return token[7:]
    return None


def _is_url(token: str) -> bool:
    rest = http_host(token)
    return rest is not None and rest[:1] not in ("", "/", "?", "#")


def _refs(codes: bool) -> Callable[[Flag, str, str], tuple[str, ...]]:
    def convert(flag: Flag, typed: str, value: str) -> tuple[str, ...]:
        tokens = tuple(value.split())
        if len(tokens) > MAX_REFS:
            raise _too_many(flag, typed, len(tokens), MAX_REFS)
        for token in tokens:
            m = _REF_WEIGHT.search(token)
            bare = token[: m.start()] if m else token
            ok = _is_url(bare) or (codes and (_CODE.fullmatch(bare) or bare.lower() == "random"))
            if not ok:
                raise invalid(flag, typed, token, f"{flag.name}_value")
        return tokens

    return convert


def _unused(flag: Flag, typed: str, value: str) -> Any:
    raise AssertionError("switches take no value")  # pragma: no cover


def _flag(
    name: str,
    aliases: tuple[str, ...],
    label: str,
    field: str,
    convert: Callable[[Flag, str, str], Any] = _unused,
    allowed: str = "",
    takes: str = "value",
) -> Flag:
    return Flag(name, aliases, label, field, takes, convert, allowed)


# fmt: off
FLAGS: tuple[Flag, ...] = (
    _flag("aspect", ("ar",), "aspect", "aspect", _aspect,
          "two whole positive numbers like 16:9 (no decimals)"),
    _flag("no", (), "--no", "negative", allowed="a comma-separated list"),
    _flag("seed", (), "seed", "seed", _int_range(0, SEED_MAX),
          f"a whole number from 0 to {SEED_MAX}"),
    _flag("chaos", ("c",), "chaos", "chaos", _int_range(0, 100), "a whole number from 0 to 100"),
    _flag("stylize", ("s",), "stylize", "stylize", _int_range(0, 1000),
          "a whole number from 0 to 1000"),
    _flag("quality", ("q",), "quality", "quality", _quality, ".25, .5, 1 or 2"),
    _flag("tile", (), "tile", "tile", takes="none"),
    _flag("repeat", ("r",), "repeat", "repeat", _int_range(1, 40),
          "a whole number from 1 to 40"),
    _flag("stop", (), "stop", "stop", _int_range(10, 100), "a whole number from 10 to 100"),
    _flag("weird", ("w",), "weird", "weird", _int_range(0, 3000),
          "a whole number from 0 to 3000"),
    _flag("iw", (), "image weight", "image_weight", _image_weight, "a number from 0 to 3"),
    _flag("version", ("v",), "version", "version", _choice(VERSIONS),
          "one of " + ", ".join(VERSIONS)),
    _flag("niji", (), "niji", "niji", _choice(NIJI_VERSIONS),
          "one of " + ", ".join(NIJI_VERSIONS) + " (or nothing)", takes="optional"),
    _flag("model", (), "model", "model", _model,
          "a model name (see /info), letters, digits, '.', '-' or '_'"),
    _flag("style", (), "style", "style", _choice(STYLES), "one of " + ", ".join(STYLES)),
    _flag("raw", (), "style", "style", takes="none"),
    _flag("sref", (), "style reference", "sref", _refs(codes=True),
          "image links (http or https), style codes or 'random'"),
    _flag("sw", (), "style weight", "style_weight", _int_range(0, 1000),
          "a whole number from 0 to 1000"),
    _flag("cref", (), "character reference", "cref", _refs(codes=False),
          "image links (http or https)"),
    _flag("cw", (), "character weight", "character_weight", _int_range(0, 100),
          "a whole number from 0 to 100"),
    _flag("fast", (), "speed", "lane", takes="none"),
    _flag("relax", (), "speed", "lane", takes="none"),
    _flag("turbo", (), "speed", "lane", takes="none"),
)
# fmt: on

BY_NAME: dict[str, Flag] = {n: f for f in FLAGS for n in (f.name, *f.aliases)}
"""Every accepted name and alias (lower case) -> its flag."""


def convert(flag: Flag, typed: str, value: str | None, restore: Restore = same) -> Any:
    """The field value for one flag as typed; raise PromptError naming it if it is wrong.

    `value` is parked (see permutations.park); `restore` gives back its escaped characters.
    """
    if flag.takes == "none":
        if value is not None:
            raise PromptError(
                f"--{typed} takes no value, got {shown(value)}; put text before the parameters.",
                "unexpected_value",
                flag.name,
            )
        return _switch_value(flag)
    if value is None:
        if flag.takes == "optional":
            return NIJI_DEFAULT
        if flag.name == "no":
            raise no_empty()
        raise PromptError(
            f"{named(flag, typed)} needs a value: {flag.allowed}.", "missing_value", flag.name
        )
    if flag.name == "no":  # the one list split on commas: it needs the parked value
        return _negative(flag, typed, value, restore)
    return flag.convert(flag, typed, restore(value))
