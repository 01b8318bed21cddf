"""Accepted prompts: every flag and alias, dashes, weights, images, composition."""

from __future__ import annotations

from typing import Any

import pytest

from inference.prompt import GenerationRequest, WeightedPrompt, parse

W = WeightedPrompt

# (prompt, expected field values); fields not listed keep their defaults.
ACCEPTED: list[tuple[str, str, dict[str, Any]]] = [
    ("single_word", "cat", {"prompts": (W("cat"),)}),
    ("emoji", "🐈", {"prompts": (W("🐈"),)}),
    ("whitespace_collapsed", "  a   red\tcar  ", {"prompts": (W("a red car"),)}),
    ("aspect", "a --aspect 3:2", {"aspect": (3, 2)}),
    ("aspect_alias_ar", "a --ar 2:3", {"aspect": (2, 3)}),
    ("aspect_reduced", "a --ar 1920:1080", {"aspect": (16, 9)}),
    ("aspect_wide_beyond_2_1", "a --ar 7:2", {"aspect": (7, 2)}),
    ("aspect_one_to_one", "a --ar 5:5", {"aspect": (1, 1)}),
    ("no_list", "a --no red, green trees", {"negative": ("red", "green trees")}),
    ("no_items_trimmed", "a --no  red ,  blue  ", {"negative": ("red", "blue")}),
    ("no_escaped_comma", r"a --no salt\, pepper, oil", {"negative": ("salt, pepper", "oil")}),
    ("seed_zero", "a --seed 0", {"seed": 0}),
    ("seed_max", "a --seed 4294967295", {"seed": 4294967295}),
    ("chaos", "a --chaos 50", {"chaos": 50}),
    ("chaos_alias_c", "a --c 100", {"chaos": 100}),
    ("stylize", "a --stylize 1000", {"stylize": 1000}),
    ("stylize_alias_s", "a --s 0", {"stylize": 0}),
    ("quality_quarter", "a --quality .25", {"quality": 0.25}),
    ("quality_half_leading_zero", "a --q 0.5", {"quality": 0.5}),
    ("quality_one", "a --q 1", {"quality": 1.0}),
    ("quality_two", "a --q 2", {"quality": 2.0}),
    ("quality_above_two_clamps_to_two", "a --q 5", {"quality": 2.0}),
    ("tile", "a --tile", {"tile": True}),
    ("repeat", "a --repeat 40", {"repeat": 40}),
    ("repeat_alias_r", "a --r 3", {"repeat": 3}),
    ("stop", "a --stop 10", {"stop": 10}),
    ("weird", "a --weird 3000", {"weird": 3000}),
    ("weird_alias_w", "a --w 250", {"weird": 250}),
    ("version", "a --version 6.1", {"version": "6.1"}),
    ("version_alias_v", "a --v 5.2", {"version": "5.2"}),
    ("version_trailing_zero", "a --v 6.0", {"version": "6"}),
    ("niji_bare", "a --niji", {"niji": "6"}),
    ("niji_version", "a --niji 5", {"niji": "5"}),
    ("style_raw", "a --style raw", {"style": "raw"}),
    ("style_case", "a --style RAW", {"style": "raw"}),
    ("raw_switch", "a --raw", {"style": "raw"}),
    (
        "sref_url_and_code",
        "a --sref https://x.io/a.png 123",
        {"sref": ("https://x.io/a.png", "123")},
    ),
    ("sref_random", "a --sref random", {"sref": ("random",)}),
    ("sref_weighted_url", "a --sref https://x.io/a.png::2", {"sref": ("https://x.io/a.png::2",)}),
    ("sw", "a --sref https://x.io/s.png --sw 500", {"style_weight": 500}),
    ("cref", "a --cref https://x.io/c.png", {"cref": ("https://x.io/c.png",)}),
    ("cw", "a --cref https://x.io/c.png --cw 0", {"character_weight": 0}),
    ("model", "a --model SDXL-Turbo", {"model": "sdxl-turbo"}),
    ("fast", "a --fast", {"lane": "fast"}),
    ("relax", "a --relax", {"lane": "relax"}),
    ("turbo", "a --turbo", {"lane": "turbo"}),
    ("em_dash", "a \u2014ar 16:9", {"aspect": (16, 9)}),
    ("en_dash", "a \u2013ar 16:9", {"aspect": (16, 9)}),
    ("equals_value", "a --ar=16:9 --s=50", {"aspect": (16, 9), "stylize": 50}),
    (
        "names_case_insensitive",
        "a --AR 16:9 --TILE --Seed 7",
        {"aspect": (16, 9), "tile": True, "seed": 7},
    ),
    (
        "flags_any_order",
        "a --tile --s 20 --ar 1:2",
        {"tile": True, "stylize": 20, "aspect": (1, 2)},
    ),
    ("em_dash_in_prose_is_text", "well\u2014done steak", {"prompts": (W("well\u2014done steak"),)}),
    (
        "spaced_dash_is_text",
        "1990 \u2013 2000 -- era",
        {"prompts": (W("1990 \u2013 2000 -- era"),)},
    ),
    ("single_hyphen_is_text", "a -ar 16:9", {"prompts": (W("a -ar 16:9"),)}),
    ("weights_two_concepts", "space:: ship", {"prompts": (W("space"), W("ship"))}),
    ("weight_on_first", "hot::2 dog", {"prompts": (W("hot", 2.0), W("dog"))}),
    ("weight_decimal", "a::1.5 b::.5", {"prompts": (W("a", 1.5), W("b", 0.5))}),
    (
        "weight_negative",
        "still life:: fruit::-.5",
        {"prompts": (W("still life"), W("fruit", -0.5))},
    ),
    ("weight_zero", "a::0 b", {"prompts": (W("a", 0.0), W("b"))}),
    ("number_with_letters_is_text", "car::1980s style", {"prompts": (W("car"), W("1980s style"))}),
    ("trailing_separator", "cat::", {"prompts": (W("cat"),)}),
    ("plus_composition", "cat + dog", {"prompts": (W("cat"), W("dog"))}),
    ("plus_with_weights", "cat::2 + dog", {"prompts": (W("cat", 2.0), W("dog"))}),
    ("glued_plus_is_text", "c++ code a+b", {"prompts": (W("c++ code a+b"),)}),
    ("no_not_in_weight_sum", "a --no b", {"prompts": (W("a"),), "negative": ("b",)}),
    (
        "image_and_text",
        "https://x.io/a.png a cat",
        {"image_prompts": ("https://x.io/a.png",), "prompts": (W("a cat"),), "image_weight": 1.0},
    ),
    (
        "two_images_no_text",
        "https://x.io/a.png http://y.io/b.jpg",
        {
            "image_prompts": ("https://x.io/a.png", "http://y.io/b.jpg"),
            "prompts": (),
            "image_weight": 1.0,
        },
    ),
    ("image_weight", "https://x.io/a.png cat --iw 0.5", {"image_weight": 0.5}),
    (
        "image_in_angle_brackets",
        "<https://x.io/a.png> cat",
        {"image_prompts": ("https://x.io/a.png",)},
    ),
    (
        "url_after_text_is_text",
        "cat https://x.io/a.png",
        {"prompts": (W("cat https://x.io/a.png"),), "image_prompts": ()},
    ),
    ("escaped_braces_are_text", r"a \{b\} c", {"prompts": (W("a {b} c"),)}),
    ("single_option_braces", "a {b} c", {"prompts": (W("a b c"),)}),
]


@pytest.mark.parametrize(
    ("prompt", "expected"), [c[1:] for c in ACCEPTED], ids=[c[0] for c in ACCEPTED]
)
def test_accepted_prompt_sets_fields(prompt: str, expected: dict[str, Any]) -> None:
    request = parse(prompt)
    for name, value in expected.items():
        assert getattr(request, name) == value, name


def test_defaults_without_flags() -> None:
    assert parse("a cat") == GenerationRequest(prompts=(W("a cat"),))


def test_repeat_stays_a_field_not_extra_jobs() -> None:
    assert parse("a --r 4").repeat == 4


def test_flag_right_after_separator_is_a_flag() -> None:
    request = parse("cat::--ar 2:3")
    assert request.prompts == (W("cat"),) and request.aspect == (2, 3)


def test_weights_are_kept_as_typed_and_normalised_on_request() -> None:
    request = parse("a::3 b::-1")
    assert [p.weight for p in request.prompts] == [3.0, -1.0]
    assert request.normalized_weights() == (1.5, -0.5)


def test_limits_are_inclusive() -> None:
    assert len(parse("a::" * 39 + "b").prompts) == 40
    assert len(parse("a --no " + "b, " * 49 + "c").negative) == 50
    assert len(parse("https://x.io/a.png " * 10 + "cat").image_prompts) == 10
    assert len(parse("a --sref" + " 1" * 10).sref) == 10
