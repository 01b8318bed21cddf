from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from moderation import Policy, check_prompt


@pytest.mark.parametrize(
    ("positive", "negative", "category"),
    [
        (["a nude woman"], [], "sexual"),
        (["a NUDE woman"], [], "sexual"),
        (["a n\u200bude woman"], [], "sexual"),
        (["a nud3 woman"], [], "sexual"),
        (["a naked teen"], [], "minors"),
        (["a woman"], ["clothes"], "sexual"),
        (["a dismembered corpse"], [], "violence"),
        (["a swastika flag"], [], "hate"),
    ],
    ids=[
        "plain",
        "upper-case",
        "zero-width",
        "leetspeak",
        "minors-context",
        "no-clothes",
        "gore",
        "hate-symbol",
    ],
)
def test_blocked(positive, negative, category):
    verdict = check_prompt(positive, negative)
    assert not verdict.allowed and verdict.category == category
    assert verdict.matched and all(term in verdict.reason for term in verdict.matched)


@pytest.mark.parametrize(
    ("positive", "negative"),
    [
        (["Scunthorpe town hall"], []),
        (["a cocktail on a beach"], []),
        (["data analysis chart"], []),
        (["Essex countryside"], []),
        (["a beach"], ["people", "nudity"]),
        (["a dragon burning a castle, epic battle"], []),
        (["children playing in a park"], []),
    ],
    ids=[
        "scunthorpe",
        "cocktail",
        "analysis",
        "essex",
        "excluded-nudity",
        "fantasy-battle",
        "children-innocent",
    ],
)
def test_allowed(positive, negative):
    assert check_prompt(positive, negative).allowed


def test_minors_with_sexual_terms_is_zero_tolerance():
    verdict = check_prompt(["naked child"])
    assert verdict.category == "minors" and verdict.appealable is False


def test_policy_adds_terms_and_allows_terms(tmp_path):
    lexicon = tmp_path / "private.txt"
    lexicon.write_text("# private\nzorblax\n")
    assert check_prompt(["a zorblax"], (), Policy.with_lexicon(lexicon)).category == "hate"
    assert check_prompt(["a topless car"], (), Policy(allow_terms=frozenset({"topless"}))).allowed


def test_verdict_json_has_the_contract_fields():
    assert check_prompt(["a nude fox"]).to_json()["layer"] == "terms"
    assert set(check_prompt(["a fox"]).to_json()) == {
        "layer",
        "allowed",
        "category",
        "matched",
        "reason",
        "appealable",
    }


@given(st.lists(st.text(max_size=200), max_size=4), st.lists(st.text(max_size=50), max_size=3))
def test_never_raises(positive, negative):
    check_prompt(positive, negative)
