"""Rejected prompts: each error has a stable code, names the parameter, and says what it got."""

from __future__ import annotations

import pytest

from inference.prompt import MAX_PROMPT_CHARS, PromptError, parse, parse_jobs

# (id, prompt, code, parameter, words the message must contain)
REJECTED: list[tuple[str, str, str, str, tuple[str, ...]]] = [
    ("empty", "", "empty", "prompt", ("empty",)),
    ("blank", "   \t ", "empty", "prompt", ("empty",)),
    ("only_flags", "--ar 16:9 --tile", "empty", "prompt", ("empty",)),
    ("only_separators", ":: ::2", "empty", "prompt", ("empty",)),
    ("too_long", "a" * (MAX_PROMPT_CHARS + 1), "too_long", "prompt", (str(MAX_PROMPT_CHARS),)),
    ("unknown_flag", "a --foo 3", "unknown_flag", "foo", ("Unrecognized parameter", "--foo")),
    ("glued_value_is_unknown", "a --ar16:9", "unknown_flag", "ar16:9", ("--ar16:9", "--ar 16:9")),
    ("glued_stylize", "a --s750", "unknown_flag", "s750", ("--s 750",)),
    ("option_without_defaults", "a --mine", "unknown_flag", "mine", ("--mine",)),
    ("duplicate_flag", "a --ar 1:1 --ar 2:3", "duplicate", "aspect", ("duplicate", "aspect")),
    ("duplicate_via_alias", "a --ar 1:1 --aspect 2:3", "duplicate", "aspect", ("--aspect",)),
    ("duplicate_case", "a --tile --TILE", "duplicate", "tile", ("duplicate",)),
    ("duplicate_raw_and_style", "a --raw --style raw", "duplicate", "style", ("style",)),
    ("missing_value", "a --ar", "missing_value", "aspect", ("aspect", "16:9")),
    ("missing_value_equals", "a --seed=", "missing_value", "seed", ("seed",)),
    ("missing_value_before_flag", "a --chaos --tile", "missing_value", "chaos", ("chaos",)),
    ("switch_with_value", "a --tile dog", "unexpected_value", "tile", ("--tile", "'dog'")),
    ("aspect_decimal", "a --ar 1.39:1", "aspect_form", "aspect", ("aspect", "'1.39:1'", "16:9")),
    ("aspect_zero", "a --ar 0:1", "aspect_form", "aspect", ("aspect", "'0:1'")),
    ("aspect_x", "a --ar 16x9", "aspect_form", "aspect", ("aspect",)),
    ("aspect_negative", "a --ar -16:9", "aspect_form", "aspect", ("aspect",)),
    ("aspect_text_after", "a --ar 16:9 dog", "aspect_form", "aspect", ("'16:9 dog'",)),
    ("no_alone", "a --no", "no_empty", "no", ("--no",)),
    ("no_only_commas", "a --no , ,", "no_empty", "no", ("--no",)),
    ("seed_negative", "a --seed -1", "seed_range", "seed", ("seed", "'-1'", "4294967295")),
    ("seed_too_big", "a --seed 4294967296", "seed_range", "seed", ("seed", "4294967296")),
    ("seed_decimal", "a --seed 1.5", "seed_range", "seed", ("seed", "'1.5'")),
    ("seed_huge_digits", "a --seed " + "9" * 5000, "seed_range", "seed", ("seed",)),
    ("chaos_range", "a --chaos 150", "chaos_range", "chaos", ("chaos", "'150'", "0 to 100")),
    ("chaos_alias_range", "a --c 101", "chaos_range", "chaos", ("chaos", "--c")),
    ("chaos_word", "a --c lots", "chaos_range", "chaos", ("chaos", "'lots'")),
    ("stylize_range", "a --s 1001", "stylize_range", "stylize", ("stylize", "0 to 1000")),
    ("quality_not_allowed", "a --q .3", "quality_value", "quality", ("quality", "'.3'", ".25")),
    ("quality_zero", "a --q 0", "quality_value", "quality", ("quality",)),
    ("quality_negative", "a --q -1", "quality_value", "quality", ("quality",)),
    ("quality_between", "a --q 1.5", "quality_value", "quality", ("quality",)),
    ("quality_word", "a --q high", "quality_value", "quality", ("quality",)),
    ("repeat_zero", "a --repeat 0", "repeat_range", "repeat", ("repeat", "1 to 40")),
    ("repeat_41", "a --r 41", "repeat_range", "repeat", ("repeat",)),
    ("stop_low", "a --stop 5", "stop_range", "stop", ("stop", "10 to 100")),
    ("weird_high", "a --w 3001", "weird_range", "weird", ("weird", "0 to 3000")),
    ("iw_high", "https://x.io/a.png a --iw 5", "iw_range", "iw", ("image weight", "'5'", "0 to 3")),
    ("iw_word", "https://x.io/a.png a --iw x", "iw_range", "iw", ("image weight",)),
    ("version_unknown", "a --v 9", "version_value", "version", ("version", "'9'")),
    ("version_missing", "a --v", "missing_value", "version", ("version",)),
    ("niji_unknown", "a --niji 2", "niji_value", "niji", ("niji", "'2'")),
    ("style_unknown", "a --style fancy", "style_value", "style", ("style", "'fancy'", "raw")),
    ("sref_bad", "a --sref ftp://x", "sref_value", "sref", ("style reference",)),
    ("cref_code_not_allowed", "a --cref 123", "cref_value", "cref", ("character reference",)),
    ("sw_range", "a --sw 1001", "sw_range", "sw", ("style weight",)),
    ("cw_range", "a --cw 101", "cw_range", "cw", ("character weight",)),
    ("sw_alone", "a --sw 500", "sw_alone", "sw", ("--sw", "--sref")),
    ("cw_alone", "a --cw 50", "cw_alone", "cw", ("--cw", "--cref")),
    ("iw_alone", "a cat --iw 2", "iw_alone", "iw", ("--iw", "image")),
    ("model_bad", "a --model ../etc", "model_value", "model", ("model", "'../etc'")),
    ("lane_conflict", "a --fast --relax", "lane_conflict", "lane", ("--fast", "--relax")),
    ("model_conflict", "a --v 6 --niji 6", "model_conflict", "version", ("--v", "--niji")),
    ("weight_sum_negative", "a::-1", "weight_sum", "weight", ("weight",)),
    ("weight_sum_zero", "a::1 b::-1", "weight_sum", "weight", ("weight",)),
    ("weight_sum_all_zero", "a::0", "weight_sum", "weight", ("weight",)),
    ("weight_infinite", "a::" + "9" * 400 + " b", "weight_range", "weight", ("weight",)),
    ("image_alone", "https://x.io/a.png", "image_alone", "image", ("image",)),
    ("image_alone_with_flags", "https://x.io/a.png --iw 2", "image_alone", "image", ("image",)),
    ("image_alone_with_no", "https://x.io/a.png --no cats", "image_alone", "image", ("image",)),
    ("image_ftp", "ftp://x.io/a.png a cat", "image_url", "image", ("http", "'ftp://x.io/a.png'")),
    ("image_no_host", "https:// a cat", "image_url", "image", ("image",)),
    ("brace_unclosed", "a {b, c", "brace_unclosed", "permutation", ("{",)),
    ("brace_unopened", "a b} c", "brace_unopened", "permutation", ("}",)),
    ("brace_too_deep", "{" * 11 + "a" + "}" * 11, "brace_depth", "permutation", ("10",)),
    (
        "too_many_jobs",
        "{a,b,c,d,e,f,g} {1,2,3,4,5,6,7}",
        "too_many_jobs",
        "permutation",
        ("40", "49"),
    ),
    ("too_many_sets", "{a}" * 101, "too_many_sets", "permutation", ("100", "40")),
    ("set_with_41_options", "{" + "a," * 41 + "}", "too_many_jobs", "permutation", ("40",)),
    (
        "jobs_too_long",
        "{1,2,3,4,5,6,7,8}{a,b,c,d,e} " + "w" * 1600,
        "jobs_too_long",
        "permutation",
        ("60000",),
    ),
    ("too_many_concepts", "a::" * 40 + "b", "too_many_concepts", "weight", ("41", "40")),
    ("too_many_plus_concepts", "a + " * 40 + "b", "too_many_concepts", "weight", ("40",)),
    ("too_many_images", "https://x.io/a.png " * 11 + "cat", "too_many_images", "image", ("10",)),
    ("too_many_no_items", "a --no " + "b, " * 50, "no_too_many", "no", ("51", "50")),
    ("too_many_srefs", "a --sref" + " 1" * 11, "sref_too_many", "sref", ("11", "10")),
    ("too_many_jobs_huge", "{a,b} " * 100, "too_many_jobs", "permutation", ("40",)),
]


@pytest.mark.parametrize(
    ("prompt", "code", "parameter", "words"),
    [c[1:] for c in REJECTED],
    ids=[c[0] for c in REJECTED],
)
def test_rejected_prompt_raises_coded_error(
    prompt: str, code: str, parameter: str, words: tuple[str, ...]
) -> None:
    with pytest.raises(PromptError) as caught:
        parse_jobs(prompt)
    error = caught.value
    assert (error.code, error.parameter) == (code, parameter), error.message
    for word in words:
        assert word in error.message
    assert error.message.endswith((".", "?")) and "\n" not in error.message


def test_parse_refuses_several_permutation_jobs() -> None:
    with pytest.raises(PromptError) as caught:
        parse("a {red, blue} car")
    assert caught.value.code == "multiple_jobs"


def test_quality_clamp_is_the_only_silent_change() -> None:
    assert parse("a --q 3").quality == 2.0
    with pytest.raises(PromptError):
        parse("a --chaos 101")
