"""render_prompt: a request back to prompt text that parses to the same request."""

from __future__ import annotations

import pytest

from inference.prompt import GenerationRequest, parse, render_prompt

CASES = [
    ("plain", "a cat", "a cat"),
    ("weights", "hot::2 dog", "hot ::2 dog"),
    ("negative_weight", "a:: b::-.5", "a ::1 b ::-0.5"),
    (
        "flags_canonical",
        "a --AR=32:18 --c 5 --raw --fast",
        "a --ar 16:9 --chaos 5 --style raw --fast",
    ),
    ("no_with_escaped_comma", r"a --no salt\, pepper, oil", r"a --no salt\, pepper, oil"),
    ("images_first", "https://x.io/a.png cat --iw 2", "https://x.io/a.png cat --iw 2"),
    ("braces_escaped", r"a \{b\}", r"a \{b\}"),
    ("quality_clamped", "a --q 3", "a --quality 2"),
    ("no_item_that_looks_like_a_flag", "a --no=--x,b,--y", "a --no=--x, b,--y"),
    ("leading_link_kept_as_text", ":: https://x.io/a.png", ":: https://x.io/a.png"),
]


@pytest.mark.parametrize(("prompt", "rendered"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_render_gives_canonical_text_that_parses_back(prompt: str, rendered: str) -> None:
    request = parse(prompt)
    assert render_prompt(request) == rendered
    assert parse(rendered) == request


def test_json_round_trip_of_a_parsed_request() -> None:
    request = parse("https://x.io/a.png a::2 b --no c --ar 3:2 --seed 9 --sref 12 --niji 5")
    assert GenerationRequest.from_json(request.to_json()) == request
