"""Prompt text -> GenerationRequest (first subset: --ar, --seed, --no, :: weights)."""

from __future__ import annotations

import math
import re

from inference.prompt.errors import PromptError
from inference.prompt.request import GenerationRequest, WeightedPrompt

_DASHES = re.compile(r"(?:(?<=\s)|^)(?:--|\u2014|\u2013)(?=[A-Za-z])")
_WEIGHT = re.compile(r"^\s*(-?\d+(?:\.\d+)?|-?\.\d+)")


def parse(text: str) -> GenerationRequest:
    """Parse one prompt; raise PromptError naming the parameter and the allowed form."""
    pieces = _DASHES.split(text)
    body, flags = pieces[0], pieces[1:]
    values: dict[str, str | None] = {}
    for raw in flags:
        name, _, value = raw.strip().partition(" ")
        name = name.lower()
        if name in values:
            raise PromptError(f"--{name} is given twice; keep one.", "duplicate", name)
        values[name] = value.strip() or None
    changes: dict[str, object] = {}
    for name, value in values.items():
        if name in ("ar", "aspect"):
            changes["aspect"] = _aspect(value)
        elif name == "seed":
            changes["seed"] = _seed(value)
        elif name == "no":
            if not value:
                raise PromptError("--no needs a comma-separated list of things to leave out.",
                                  "no_empty", "no")
            changes["negative"] = tuple(v.strip() for v in value.split(",") if v.strip())
        else:
            raise PromptError(f"Unrecognized parameter --{name}.", "unknown_flag", name)
    return GenerationRequest(prompts=_concepts(body), **changes)  # type: ignore[arg-type]


def _aspect(value: str | None) -> tuple[int, int]:
    match = re.fullmatch(r"(\d+):(\d+)", value or "")
    if not match or int(match[1]) == 0 or int(match[2]) == 0:
        raise PromptError(
            f"aspect must be two whole positive numbers like 3:2, got {value!r}.",
            "aspect_form", "aspect")
    w, h = int(match[1]), int(match[2])
    g = math.gcd(w, h)
    return w // g, h // g


def _seed(value: str | None) -> int:
    if value is None or not value.isdigit() or int(value) > 4294967295:
        raise PromptError(f"seed must be a whole number 0-4294967295, got {value!r}.",
                          "seed_range", "seed")
    return int(value)


def _concepts(body: str) -> tuple[WeightedPrompt, ...]:
    segments = body.split("::")
    concepts: list[WeightedPrompt] = []
    weight_next = 1.0
    texts: list[tuple[str, float]] = []
    for i, seg in enumerate(segments):
        if i > 0:
            m = _WEIGHT.match(seg)
            if m:
                texts[-1] = (texts[-1][0], float(m[1]))
                seg = seg[m.end():]
        texts.append((" ".join(seg.split()), weight_next))
    for t, w in texts:
        if t:
            concepts.append(WeightedPrompt(t, w))
    if not concepts:
        raise PromptError("The prompt is empty: describe what you want to see.", "empty", "prompt")
    if sum(c.weight for c in concepts) <= 0:
        raise PromptError("The :: weights must add up to a positive number.", "weight_sum",
                          "weight")
    return tuple(concepts)
