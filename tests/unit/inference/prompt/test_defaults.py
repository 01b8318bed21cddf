"""/settings, /prefer suffix and /prefer option: validation and the override order."""

from __future__ import annotations

import pytest

from inference.prompt import PromptDefaults, PromptError, parse, validate_option, validate_suffix

USER = PromptDefaults(
    settings={"stylize": 250, "lane": "relax", "quality": 0.5, "version": "6"},
    suffix="--ar 16:9 --s 50 --tile",
    options={"Mine": "--s 400 --ar 2:3", "wide": "--ar 7:3 --chaos 20", "anime": "--niji 6"},
)

ORDER = [
    ("settings_apply", "a cat", {"quality": 0.5, "lane": "relax", "version": "6"}),
    ("suffix_overrides_settings", "a cat", {"stylize": 50, "aspect": (16, 9), "tile": True}),
    ("option_overrides_suffix", "a cat --mine", {"stylize": 400, "aspect": (2, 3)}),
    ("option_name_case_insensitive", "a cat --MINE", {"stylize": 400}),
    ("prompt_overrides_option", "a cat --mine --s 10", {"stylize": 10, "aspect": (2, 3)}),
    ("prompt_overrides_settings", "a cat --fast --q 1", {"lane": "fast", "quality": 1.0}),
    ("later_option_wins", "a cat --mine --wide", {"aspect": (7, 3), "stylize": 400, "chaos": 20}),
    ("niji_clears_version_below", "a cat --anime", {"niji": "6", "version": None}),
    ("version_clears_niji_below", "a cat --anime --v 7", {"niji": None, "version": "7"}),
]


@pytest.mark.parametrize(("prompt", "expected"), [c[1:] for c in ORDER], ids=[c[0] for c in ORDER])
def test_layers_override_in_order(prompt: str, expected: dict[str, object]) -> None:
    request = parse(prompt, USER)
    for name, value in expected.items():
        assert getattr(request, name) == value, name


def test_option_used_twice_is_a_duplicate() -> None:
    with pytest.raises(PromptError) as caught:
        parse("a --mine --mine", USER)
    assert caught.value.code == "duplicate"


def test_option_takes_no_value() -> None:
    with pytest.raises(PromptError) as caught:
        parse("a --mine 3", USER)
    assert caught.value.code == "unexpected_value"


def test_settings_aspect_accepts_text_or_pair() -> None:
    assert parse("a", PromptDefaults(settings={"aspect": "3:2"})).aspect == (3, 2)
    assert parse("a", PromptDefaults(settings={"aspect": (4, 2)})).aspect == (2, 1)


SUFFIX_BAD = [
    ("text", "a cat --ar 16:9", "flags_only", ("text", "'a cat'")),
    ("weights", "cat::2 --s 5", "flags_only", ("weights",)),
    ("permutation", "--ar {1:1, 2:3}", "flags_only", ("permutation",)),
    ("bad_value", "--chaos 500", "chaos_range", ("suffix", "chaos")),
    ("unknown", "--mine", "unknown_flag", ("--mine",)),
    ("image", "https://x.io/a.png --ar 1:1", "flags_only", ("text",)),
]


@pytest.mark.parametrize(
    ("text", "code", "words"), [c[1:] for c in SUFFIX_BAD], ids=[c[0] for c in SUFFIX_BAD]
)
def test_suffix_rejects_anything_but_valid_flags(
    text: str, code: str, words: tuple[str, ...]
) -> None:
    with pytest.raises(PromptError) as caught:
        validate_suffix(text)
    assert caught.value.code == code
    for word in words:
        assert word in caught.value.message


def test_suffix_is_returned_tidied() -> None:
    assert validate_suffix("  --ar 16:9    --s 50 ") == "--ar 16:9 --s 50"
    assert validate_suffix("") == ""


OPTION_BAD = [
    ("clashes_with_flag", "ar", "--s 5", "option_name"),
    ("clashes_with_alias", "S", "--s 5", "option_name"),
    ("bad_characters", "my option", "--s 5", "option_name"),
    ("starts_with_digit", "9lives", "--s 5", "option_name"),
    ("empty_flags", "mine", "  ", "option_empty"),
    ("text_in_flags", "mine", "cat --s 5", "flags_only"),
    ("invalid_value", "mine", "--q 0.3", "quality_value"),
    ("refers_to_option", "mine", "--other", "unknown_flag"),
]


@pytest.mark.parametrize(
    ("name", "text", "code"), [c[1:] for c in OPTION_BAD], ids=[c[0] for c in OPTION_BAD]
)
def test_option_rejects_bad_name_or_flags(name: str, text: str, code: str) -> None:
    with pytest.raises(PromptError) as caught:
        validate_option(name, text)
    assert caught.value.code == code


def test_option_name_normalised() -> None:
    assert validate_option("--Mine", " --s 5  --tile") == ("mine", "--s 5 --tile")


def test_invalid_stored_defaults_raise_on_construction() -> None:
    with pytest.raises(PromptError) as caught:
        PromptDefaults(settings={"stylize": 5000})
    assert caught.value.code == "stylize_range" and "settings" in caught.value.message
    with pytest.raises(PromptError) as caught:
        PromptDefaults(settings={"colour": "red"})
    assert caught.value.code == "setting_invalid"
