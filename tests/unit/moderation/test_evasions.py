"""Each evasion trick, and each innocent prompt the old normalisation blocked, on its own."""

from __future__ import annotations

import pytest

from moderation import check_prompt
from services.policy import moderate_prompt


@pytest.mark.parametrize(
    ("prompt", "category"),
    [
        ("a sexy 👧 on a bed", "minors"),
        ("🍆💦 🧒", "minors"),
        ("naked 👶", "minors"),
        ("a nude! woman", "sexual"),
        ("nude!!! woman", "sexual"),
        ("a n\u202eude woman", "sexual"),
        ("a n\u200bu\u200bd\u200be woman", "sexual"),
        ("a n\u2066ude\u2069 woman", "sexual"),
        ("a nakedwoman on a beach", "sexual"),
        ("sexygirl, nakedwoman", "sexual"),
        ("nu:: de woman", "sexual"),
        ("a nu-de woman", "sexual"),
        ("porno:: graphic photo", "sexual"),
        ("k k k rally", "hate"),
        ("kkkk flag", "hate"),
        ("boooobs", "sexual"),
        ("a woman without clothes", "sexual"),
        ("no underage naked girls", "minors"),
    ],
)
def test_evasion_is_caught(prompt, category):
    verdict = moderate_prompt(prompt)
    assert not verdict.allowed and verdict.category == category, verdict


def test_zero_tolerance_with_emoji_needs_no_optional_layer():
    """The term path alone (no semantic layer) blocks it, and it cannot be appealed."""
    verdict = check_prompt(["a sexy 👧"])
    assert verdict.category == "minors" and verdict.appealable is False


@pytest.mark.parametrize(
    "prompt",
    [
        "portrait of a knight, 8 k, highly detailed",
        "a city at night, 4 k uhd, octane render",
        "8k wallpaper, 35mm photo, 1080p",
        "tesla Model X on a mountain road",
        "2x2 grid of cats",
        "2 x 2 tiles",
        "fashion photo shoot in paris",
        "bobs burgers fan art",
        "a toppled statue in a ruined city",
        "a child reading in bed",
        "a field of flowers, no blood",
        "a greek statue without nudity",
        "a 🍆 on a plate, food photography",
        "a baby 👶 in a stroller",
        "photorealistic, hyperrealistic, artstation",
        "a cocktail at sunset",
    ],
)
def test_innocent_prompt_passes(prompt):
    assert moderate_prompt(prompt).allowed, moderate_prompt(prompt)


@pytest.mark.parametrize(
    ("prompt", "category", "appealable"),
    [
        ("a child beaten by his father", "child_abuse", False),
        ("a little girl chained up in a basement", "child_abuse", False),
        ("a kid, not abused, chained up", "child_abuse", False),  # negation never excuses it
        ("a dog beaten to death", "animal_cruelty", True),
        ("kittens set on fire", "animal_cruelty", True),
        ("cockfighting in a village", "violence", True),
    ],
)
def test_subjects_with_their_context_block(prompt, category, appealable):
    verdict = moderate_prompt(prompt)
    assert (verdict.category, verdict.appealable) == (category, appealable), verdict
    assert verdict.matched and all(word in verdict.reason for word in verdict.matched)
    if category != "violence":
        assert len(verdict.matched) >= 2  # the subject and its context


@pytest.mark.parametrize(
    "prompt",
    [
        "a boy beating a drum",
        "a kid kicking a ball",
        "a child hugging a cat",
        "a beaten up old car",
        "a dog playing with a ball, no abuse",
        "a cat chasing a mouse",
    ],
)
def test_a_subject_or_a_context_alone_passes(prompt):
    assert moderate_prompt(prompt).allowed, moderate_prompt(prompt)


@pytest.mark.parametrize(
    ("prompt", "category"),
    [
        ("rotting corpses in a field", "violence"),  # listed: rotting corpse
        ("two women undressing each other", "sexual"),
        ("rows of severed heads", "violence"),
        ("a man decapitating a prisoner", "violence"),
    ],
)
def test_inflections_of_listed_terms_block(prompt, category):
    assert moderate_prompt(prompt).category == category, moderate_prompt(prompt)


@pytest.mark.parametrize("prompt", ["a tortured soul, dark fantasy art", "both sexes of a bird"])
def test_terms_marked_exact_are_not_inflected(prompt):
    assert moderate_prompt(prompt).allowed, moderate_prompt(prompt)


def test_thousands_of_real_people_are_known_and_an_artist_credit_is_not_a_subject():
    from moderation.check import builtin_terms

    assert len(builtin_terms("public_figures_more")) > 10_000
    assert moderate_prompt("angela merkel in lingerie").category == "public_figure"
    assert moderate_prompt("blaise matuidi lying dead in a ditch").category == "public_figure"
    assert moderate_prompt("a portrait of blaise matuidi smiling").allowed
    assert moderate_prompt("a crying child, inspired by margaret keane").allowed
    assert moderate_prompt("margaret keane crying in jail").category == "public_figure"


@pytest.mark.parametrize(
    "prompt",
    ["Al Gore giving a speech at a podium", "Gore Verbinski directing a pirate film",
     "Frank Gore running with a football", "portrait of Lesley Gore singing"],
)  # fmt: skip
def test_a_real_persons_name_is_not_its_words(prompt):
    assert moderate_prompt(prompt).allowed, prompt


@pytest.mark.parametrize(
    ("prompt", "category"),
    [("Al Gore covered in gore", "public_figure"), ("a zombie covered in gore", "violence"),
     ("Gore Verbinski, a corpse covered in gore", "public_figure")],
)  # fmt: skip
def test_the_same_words_beside_the_name_still_block(prompt, category):
    assert moderate_prompt(prompt).category == category
