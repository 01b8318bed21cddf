"""`imaginebot parse` JSON: exactly the documented fields, or {"error", "code"} with exit 1."""

from __future__ import annotations

import json

import pytest

from inference.prompt import MAX_PROMPT_CHARS, contract_json, parse_jobs
from inference.prompt.errors import PromptError

FIELDS = [
    "prompts", "negative", "aspect", "seed", "chaos", "stylize", "repeat", "stop", "quality",
    "tile", "image_prompts", "image_weight", "expansions", "jobs",
]  # fmt: skip


def test_contract_object_has_exactly_the_documented_fields() -> None:
    out, code = contract_json("https://x.io/a.png hot::2 dog --no red, blue --ar 1920:1080 --q 4")
    assert code == 0
    assert list(out) == FIELDS
    assert out["prompts"] == [{"text": "hot", "weight": 2.0}, {"text": "dog", "weight": 1.0}]
    assert out["negative"] == ["red", "blue"]
    assert out["aspect"] == "16:9"
    assert (out["seed"], out["chaos"], out["stylize"], out["repeat"], out["stop"]) == (
        None, 0, 100, 1, 100,
    )  # fmt: skip
    assert out["quality"] == 2.0 and isinstance(out["quality"], float)
    assert out["tile"] is False
    assert out["image_prompts"] == ["https://x.io/a.png"]
    assert out["image_weight"] == 1.0
    assert out["expansions"] == 1
    assert len(out["jobs"]) == 1 and list(out["jobs"][0]) == FIELDS[:-2]
    json.dumps(out, allow_nan=False)


def test_contract_lists_every_permutation_job() -> None:
    out, code = contract_json("a {red, blue} car --ar {1:1, 2:1} --r 2")
    assert code == 0 and out["expansions"] == 4
    assert [(j["prompts"][0]["text"], j["aspect"]) for j in out["jobs"]] == [
        ("a red car", "1:1"), ("a red car", "2:1"), ("a blue car", "1:1"), ("a blue car", "2:1"),
    ]  # fmt: skip
    assert all(j["repeat"] == 2 for j in out["jobs"])
    assert out["prompts"] == out["jobs"][0]["prompts"]


@pytest.mark.parametrize(
    ("prompt", "code"),
    [
        ("", "empty"),
        ("a --chaos 101", "chaos_range"),
        ("{a,b,c,d,e,f,g} {1,2,3,4,5,6}", "too_many_jobs"),
    ],
    ids=["empty", "range", "too_many_jobs"],
)
def test_contract_error_is_message_and_code_with_exit_1(prompt: str, code: str) -> None:
    out, exit_code = contract_json(prompt)
    assert exit_code == 1
    assert list(out) == ["error", "code"] and out["code"] == code and out["error"]


ADVERSARIAL = {
    "deep_braces": "{" * 3000 + "}" * 3000,
    "brace_sets": "{a,b}" * 1200,
    "colons": "::" * 3000,
    "weights": "a::2 " * 1200,
    "dashes": "-" * MAX_PROMPT_CHARS,
    "dash_letters": "--a" * 2000,
    "glued_name": "a --" + "x" * 5990,
    "single_option_groups": "{a}" * 2000,
    "forty_long_jobs": "{1,2,3,4,5,6,7,8} {a,b,c,d,e}" + "{x}" * 1980,
    "plus": "a + " * 1500,
    "backslashes": "\\" * MAX_PROMPT_CHARS,
    "digits": "a --seed " + "9" * 5990,
}


@pytest.mark.parametrize("text", list(ADVERSARIAL.values()), ids=list(ADVERSARIAL))
def test_adversarial_input_gets_jobs_or_a_coded_error(text: str) -> None:
    # How fast is benchmarks/bench_prompt.py's business (goal 10 ms for the worst input);
    # here: no crash (recursion, index errors), no job explosion, errors a user can act on.
    assert len(text) <= MAX_PROMPT_CHARS
    try:
        jobs = parse_jobs(text)
    except PromptError as error:
        assert error.code and error.message
    else:
        assert 1 <= len(jobs) <= 40
