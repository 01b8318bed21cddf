"""`{}` permutations: products, nesting, escapes, flags and the 40-job cap."""

from __future__ import annotations

import pytest

from inference.prompt import count_expansions, expand, parse_jobs
from inference.prompt.permutations import unescape

EXPANSIONS: list[tuple[str, str, list[str]]] = [
    ("no_braces", "a cat", ["a cat"]),
    ("one_set", "a {red, green} bird", ["a red bird", "a green bird"]),
    ("sets_multiply_leftmost_slowest", "{a,b} x {c,d}", ["a x c", "a x d", "b x c", "b x d"]),
    ("nesting_sums_options", "{x {1,2}, y {3,4}}", ["x 1", "x 2", "y 3", "y 4"]),
    ("flag_value", "a --ar {3:2, 1:1}", ["a --ar 3:2", "a --ar 1:1"]),
    ("flag_name", "a --{fast, relax}", ["a --fast", "a --relax"]),
    ("escaped_comma_stays_in_option", r"{a\, b, c}", [r"a\, b", "c"]),
    ("escaped_brace_is_literal", r"\{a, b\}", [r"\{a, b\}"]),
    ("empty_option", "a {, very} dog", ["a  dog", "a very dog"]),
    ("single_option", "{a}", ["a"]),
    ("comma_outside_braces_is_text", "a, b", ["a, b"]),
]


@pytest.mark.parametrize(
    ("text", "expected"), [c[1:] for c in EXPANSIONS], ids=[c[0] for c in EXPANSIONS]
)
def test_expand_gives_each_job_text(text: str, expected: list[str]) -> None:
    assert expand(text) == expected
    assert count_expansions(text) == len(expected)


def test_each_expansion_parses_into_its_own_request() -> None:
    jobs = parse_jobs("a {red, green} bird --ar {3:2, 1:1}")
    assert [(j.prompts[0].text, j.aspect) for j in jobs] == [
        ("a red bird", (3, 2)),
        ("a red bird", (1, 1)),
        ("a green bird", (3, 2)),
        ("a green bird", (1, 1)),
    ]


def test_forty_jobs_is_allowed() -> None:
    assert len(parse_jobs("{1,2,3,4,5,6,7,8} {a,b,c,d,e}")) == 40


def test_all_expansions_are_validated_before_returning() -> None:
    from inference.prompt import PromptError

    with pytest.raises(PromptError) as caught:
        parse_jobs("a --chaos {10, 500}")
    assert caught.value.code == "chaos_range"


def test_repeat_is_separate_from_expansions() -> None:
    jobs = parse_jobs("{a, b} --repeat 30")
    assert len(jobs) == 2 and all(j.repeat == 30 for j in jobs)


def test_expansion_text_expands_again_to_itself() -> None:
    for text in expand(r"{a\, b, c\{} d"):
        assert expand(text) == [text]


def test_unescape_removes_only_known_escapes() -> None:
    assert unescape(r"a\, \{ \} \\ \n") == "a, { } \\ \\n"
