"""Hypothesis properties: no crash on any text, render/parse round trip, permutation counts."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inference.prompt import (
    MAX_JOBS,
    GenerationRequest,
    PromptDefaults,
    PromptError,
    WeightedPrompt,
    expand,
    parse,
    parse_jobs,
    render_prompt,
    validate_option,
    validate_suffix,
)

TOKENS = [
    "--", "—", "–", "-", "---", "::", "::2", "::-1", "::.5", "::-0.5", "+", " + ", "{", "}", ",",
    "\\", "\\,", "\\{", "=", ":", "--ar", "--ar 16:9", "--no", "--no a, b", "--s", "--q 4", "--iw",
    "--tile", "--raw", "--niji", "--v 6.1", "--seed", "--fast", "--relax", "--AR=3:2", "—ar 2:3",
    "https://x.io/a.png", "http://", "<https://y.io/b.png>", "ftp://x", "cat", "dog", "1.5", "0",
    "{a, b}", "{x {1,2}, y}", "--sref random", "--cw 50", " ", "\t", "é", "🐈", "\u3000", "\x1c",
    "::--s 5", "a::--tile", "<", ">", "HTTP://Z.IO/x", "--mine", ",--no a", "--no=--x",
]  # fmt: skip

prompt_text = st.one_of(
    st.text(max_size=80),
    st.lists(st.one_of(st.sampled_from(TOKENS), st.text(max_size=4)), max_size=14).map("".join),
    st.lists(st.sampled_from(TOKENS), max_size=14).map(" ".join),
)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(prompt_text)
def test_any_text_parses_or_raises_prompt_error(text: str) -> None:
    try:
        jobs = parse_jobs(text)
    except PromptError as exc:
        assert exc.code and exc.message
        return
    assert 1 <= len(jobs) <= MAX_JOBS


def _jobs(text: str) -> list[GenerationRequest]:
    """The jobs of a text, or none if it is rejected (rejection is tested above)."""
    try:
        return parse_jobs(text)
    except PromptError:
        return []


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(prompt_text)
def test_parsed_request_renders_back_to_itself(text: str) -> None:
    for request in _jobs(text):
        assert parse(render_prompt(request)) == request
        assert GenerationRequest.from_json(request.to_json()) == request


words = st.text(
    alphabet=st.sampled_from("abc xyz:,+-—{}\\=.0123456789é"), min_size=1, max_size=12
).map(lambda s: " ".join(s.split()))
safe_words = (
    st.text(alphabet=st.sampled_from("abc xyz,{}\\é"), min_size=1, max_size=12)
    .map(lambda s: " ".join(s.split()))
    .filter(bool)
)
weights = st.one_of(
    st.just(1.0),
    st.floats(min_value=-5, max_value=50, allow_nan=False).filter(lambda w: w != 0),
    st.sampled_from([0.5, 2.0, -0.5, 1e-7, 123456.789]),
)
requests = st.builds(
    lambda concepts, images, fields: (concepts, images, fields),
    st.lists(st.tuples(words, weights), min_size=1, max_size=4),
    st.lists(
        st.sampled_from(["https://x.io/a.png", "http://y.io/b c.jpg", "https://z.io/{1}"]),
        max_size=2,
    ),
    st.fixed_dictionaries(
        {},
        optional={
            "negative": st.lists(safe_words, min_size=1, max_size=3).map(tuple),
            "aspect": st.tuples(st.integers(1, 50), st.integers(1, 50)),
            "seed": st.integers(0, 4294967295),
            "chaos": st.integers(0, 100),
            "stylize": st.integers(0, 1000),
            "quality": st.sampled_from([0.25, 0.5, 1.0, 2.0]),
            "tile": st.booleans(),
            "repeat": st.integers(1, 40),
            "stop": st.integers(10, 100),
            "weird": st.integers(0, 3000),
            "image_weight": st.sampled_from([0.0, 0.5, 1.0, 2.5, 3.0]),
            "version": st.sampled_from(["5.2", "6", "7"]),
            "style": st.sampled_from(["raw", "cute"]),
            "sref": st.lists(
                st.sampled_from(["123", "random", "https://s.io/x.png::2"]), min_size=1, max_size=2
            ).map(tuple),
            "style_weight": st.integers(0, 1000),
            "character_weight": st.integers(0, 100),
            "lane": st.sampled_from(["fast", "relax", "turbo"]),
        },
    ),
)


@settings(max_examples=400, deadline=None)
@given(requests)
def test_built_request_round_trips_through_render(parts: Any) -> None:
    concepts, images, fields = parts
    prompts = tuple(WeightedPrompt(t, w) for t, w in concepts if t)
    # Only requests the parser can produce: a reduced aspect, a positive weight sum, ...
    try:
        base = parse(
            render_prompt(GenerationRequest(prompts=prompts, image_prompts=tuple(images), **fields))
        )
    except PromptError:
        return
    assert parse(render_prompt(base)) == base
    for name, value in fields.items():
        if name != "aspect":
            assert getattr(base, name) == value, name


@st.composite
def brace_tree(draw: st.DrawFn, depth: int = 0) -> tuple[str, int]:
    """Random text with braces, and its job count by the rule: sets multiply, options add."""
    parts: list[str] = []
    count = 1
    for _ in range(draw(st.integers(1, 3))):
        if depth < 3 and draw(st.booleans()):
            options = [draw(brace_tree(depth + 1)) for _ in range(draw(st.integers(1, 3)))]
            parts.append("{" + ", ".join(text for text, _ in options) + "}")
            count *= sum(n for _, n in options)
        else:
            parts.append(draw(st.sampled_from(["a", "b c", "d\\, e", "--ar 1:1", "x"])))
    return " ".join(parts), count


@settings(max_examples=400, deadline=None)
@given(brace_tree())
def test_expansion_count_follows_product_and_sum_rule(tree: tuple[str, int]) -> None:
    text, count = tree
    if count > MAX_JOBS:
        with pytest.raises(PromptError, match="40"):
            expand(text)
    else:
        assert len(expand(text)) == count


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(prompt_text)
def test_parsing_each_expansion_equals_parse_jobs(text: str) -> None:
    jobs = _jobs(text)
    if jobs:
        assert [parse(expansion) for expansion in expand(text)] == jobs


USER = PromptDefaults(
    settings={"stylize": 250, "lane": "relax", "version": "6"},
    suffix="--ar 16:9 --no text",
    options={"mine": "--s 400 --niji 6", "wide": "--ar 3:1"},
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        prompt_text,
        prompt_text.map(lambda t: t + " --mine"),
        prompt_text.map(lambda t: "a " + t + " --wide"),
    )
)
def test_any_text_with_defaults_parses_or_raises_prompt_error(text: str) -> None:
    try:
        parse_jobs(text, USER)
    except PromptError as exc:
        assert exc.code


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(prompt_text, st.text(max_size=10))
def test_suffix_and_option_validation_never_crash(text: str, name: str) -> None:
    for check in (lambda: validate_suffix(text), lambda: validate_option(name, text)):
        try:
            check()
        except PromptError as exc:
            assert exc.code
