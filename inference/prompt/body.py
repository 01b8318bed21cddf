"""The text before the flags: leading image URLs, then `::`-weighted and ` + ` concepts."""

from __future__ import annotations

import math
import re
from decimal import Decimal

from inference.prompt.errors import PromptError
from inference.prompt.flags import http_host, shown
from inference.prompt.permutations import Restore
from inference.prompt.request import WeightedPrompt

# A weight is a plain decimal right after `::`, ended by whitespace, `:`, `,` or the end:
# `hot::2 dog` weighs "hot" 2, `a::1980s b` keeps "1980s b" as text.
_WEIGHT = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?![^\s:,])")
# Ours: a lone `+` separates concepts like `::`. Run on " " + segment; consuming the space
# before it (instead of a lookbehind at every position) keeps the scan in C.
_PLUS = re.compile(r"\s\+(?!\S)")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://")
_TOKEN = re.compile(r"\s*(\S+)")

MAX_CONCEPTS = 40
"""Most `::`/`+` concepts in one job; far past what a model can use, and it bounds the work
of a 40-job permutation of a 6000-character prompt to well under 10 ms."""
MAX_IMAGES = 10
"""Most image prompts in one job."""


def _too_many(what: str, count: str, limit: int, code: str, parameter: str) -> PromptError:
    return PromptError(
        f"This prompt has {count} {what}; at most {limit} are allowed.", code, parameter
    )


def _image_url(token: str, restore: Restore) -> str | None:
    """The URL if `token` is an image prompt (`<...>` Discord embed guards are removed)."""
    if token.startswith("<") and token.endswith(">"):
        token = token[1:-1]
    rest = http_host(token)
    if rest is None:
        if _SCHEME.match(token):
            raise PromptError(
                f"Image prompts must be http or https image links, got {shown(token)}.",
                "image_url",
                "image",
            )
        return None
    if not rest or rest[0] in "/?#":
        raise PromptError(
            f"The image prompt link {shown(token)} has no host; use a full https:// image link.",
            "image_url",
            "image",
        )
    return restore(token)


def split_images(body: str, restore: Restore) -> tuple[tuple[str, ...], str]:
    """The leading image URLs, and the rest of the (parked) body."""
    images: list[str] = []
    pos = 0
    while True:
        m = _TOKEN.match(body, pos)
        if not m:
            break
        url = _image_url(m[1], restore)
        if url is None:
            break
        if len(images) == MAX_IMAGES:
            raise _too_many(
                "image prompts", f"more than {MAX_IMAGES}", MAX_IMAGES, "too_many_images", "image"
            )
        images.append(url)
        pos = m.end()
    return tuple(images), body[pos:]


def concepts(text: str, restore: Restore) -> tuple[WeightedPrompt, ...]:
    """`::` and ` + ` concepts with their weights as typed; empty concepts are left out."""
    if "::" not in text and "+" not in text:
        clean = " ".join(restore(text).split())
        return (WeightedPrompt(clean, 1.0),) if clean else ()
    separators = text.count("::")
    if separators >= MAX_CONCEPTS:
        raise _too_many(
            ":: concepts", str(separators + 1), MAX_CONCEPTS, "too_many_concepts", "weight"
        )
    found: list[tuple[str, str]] = []  # (text, weight as typed)
    for i, segment in enumerate(text.split("::")):
        if i:
            m = _WEIGHT.match(segment)
            if m:
                found[-1] = (found[-1][0], m.group())
                segment = segment[m.end() :]
        if "+" in segment:
            found.extend((piece, "1") for piece in _PLUS.split(" " + segment))
        else:
            found.append((segment, "1"))
        if len(found) > MAX_CONCEPTS:
            raise _too_many(
                ":: or + concepts", str(len(found)), MAX_CONCEPTS, "too_many_concepts", "weight"
            )
    out: list[WeightedPrompt] = []
    total = Decimal(0)
    for raw, typed in found:
        clean = " ".join(restore(raw).split())
        if not clean:
            continue
        weight = float(typed)
        if not math.isfinite(weight):
            raise PromptError(
                f"The :: weight after {shown(clean)} is too large, got {shown(typed)}; "
                "use a number like 2 or -0.5.",
                "weight_range",
                "weight",
            )
        total += Decimal(typed)
        out.append(WeightedPrompt(clean, weight))
    if out and total <= 0:
        raise PromptError(
            f"The :: weights must add up to a positive number, got a total of {total}; "
            "raise a weight or make a negative weight smaller.",
            "weight_sum",
            "weight",
        )
    return tuple(out)
