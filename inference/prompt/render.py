"""GenerationRequest -> prompt text that parses back to the same request."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from inference.prompt.body import split_images
from inference.prompt.errors import PromptError
from inference.prompt.permutations import escape, park
from inference.prompt.request import GenerationRequest

_DEFAULTS = GenerationRequest(prompts=())
# Flag order in rendered prompts; each request field maps to the flag that sets it.
_ORDER = (
    ("aspect", "ar"), ("negative", "no"), ("seed", "seed"), ("chaos", "chaos"),
    ("stylize", "stylize"), ("quality", "quality"), ("tile", "tile"), ("repeat", "repeat"),
    ("stop", "stop"), ("weird", "weird"), ("image_weight", "iw"), ("version", "v"),
    ("niji", "niji"), ("model", "model"), ("style", "style"), ("sref", "sref"),
    ("style_weight", "sw"), ("cref", "cref"), ("character_weight", "cw"), ("lane", "lane"),
)  # fmt: skip
_FLAG_FOR = dict(_ORDER)
_DASHES = "-\u2014\u2013"


def number(value: float) -> str:
    """A float written so that it parses back exactly, without exponent notation."""
    text = format(Decimal(repr(float(value))), "f")
    return text[:-2] if text.endswith(".0") else text


def render_field(name: str, value: Any) -> str:
    """One field as flag text (`aspect`, (16, 9) -> `--ar 16:9`); '' for an unset switch."""
    flag = _FLAG_FOR[name]
    if name == "aspect":
        if isinstance(value, str):
            return f"--ar {value}"
        return f"--ar {value[0]}:{value[1]}"
    if name == "negative":
        items = [
            escape(str(v), commas=True) for v in ([value] if isinstance(value, str) else value)
        ]
        # An item like "--x" (typed as "a,--x") must not follow a space, or it becomes a flag.
        text = items[0]
        for item in items[1:]:
            text += ("," if item[:1] in _DASHES else ", ") + item
        return ("--no=" if text[:1] in _DASHES else "--no ") + text
    if name == "tile":
        return "--tile" if value else ""
    if name == "lane":
        return f"--{value}"
    if isinstance(value, bool):
        return f"--{flag} {value}"
    if isinstance(value, float):
        return f"--{flag} {number(value)}"
    if isinstance(value, tuple | list):
        return f"--{flag} " + " ".join(escape(str(v)) for v in value)
    return f"--{flag} {escape(str(value))}"


def _looks_like_image(text: str) -> bool:
    try:
        parked, restore, _ = park(escape(text))
        return bool(split_images(parked, restore)[0])
    except PromptError:
        return True


def render_prompt(request: GenerationRequest) -> str:
    """Prompt text for a request: `parse(render_prompt(r)) == r` for every parsed request."""
    parts = [escape(url) for url in request.image_prompts]
    concepts = request.prompts
    if concepts and _looks_like_image(concepts[0].text):
        parts.append("::")  # an empty first concept keeps a leading link as text
    if len(concepts) == 1 and concepts[0].weight == 1:
        parts.append(escape(concepts[0].text))
    else:
        for i, concept in enumerate(concepts):
            parts.append(escape(concept.text))
            # The space before `::` keeps a text ending in ':' from merging with it.
            if i < len(concepts) - 1 or concept.weight != 1:
                parts.append(f"::{number(concept.weight)}")
    for name, _ in _ORDER:
        value = getattr(request, name)
        if name == "image_weight":
            if value is None or (request.image_prompts and value == 1.0):
                continue
        elif value == getattr(_DEFAULTS, name):
            continue
        text = render_field(name, value)
        if text:
            parts.append(text)
    return " ".join(parts)
