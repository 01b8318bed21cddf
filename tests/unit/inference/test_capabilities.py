"""The capability declaration itself (pure): the doc table, what `fit` drops, `choose_model`."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from inference.capabilities import Unsupported, check, choose_model, fit, markdown_table, qualities
from inference.presets import PRESETS
from inference.prompt import PromptDefaults, parse

DOC = Path(__file__).resolve().parents[3] / "docs" / "prompt-language.md"
FLUX = PRESETS["tiny-flux"]


def test_the_prompt_language_document_shows_the_table_as_it_is():
    assert markdown_table(PRESETS) in DOC.read_text(encoding="utf-8")


def test_typed_fields_are_recorded_and_settings_are_not():
    defaults = PromptDefaults(settings={"stylize": 250}, suffix="--tile")
    request = parse("a fox --no snow --ar 2:1", defaults)
    assert request.typed == frozenset({"negative", "aspect"})
    assert parse("a fox --raw").typed == frozenset({"style"})


def test_fit_drops_untyped_values_and_keeps_typed_ones_for_check():
    request = parse("a fox", PromptDefaults(suffix="--no snow --tile --ar 9:1"))
    fitted = fit(FLUX, request)
    assert (fitted.negative, fitted.tile, fitted.aspect) == ((), False, (4, 1))
    check(FLUX, fitted, {FLUX.name: FLUX})
    typed = parse("a fox --no snow")
    assert fit(FLUX, typed) == typed
    with pytest.raises(Unsupported, match="--no"):
        check(FLUX, typed, {FLUX.name: FLUX})


def test_qualities_offer_only_values_that_render_differently():
    assert qualities(PRESETS["sd-turbo"]) == [0.25, 0.5, 1.0, 2.0]
    assert qualities(PRESETS["tiny"]) == [0.5, 1.0, 2.0]
    assert qualities(replace(PRESETS["tiny"], default_steps=1)) == [1.0, 2.0]


def test_choose_model_by_alias_name_and_turbo():
    served = {name: PRESETS[name] for name in ("sd-turbo", "sd15", "sdxl", "sdxl-turbo")}
    assert choose_model(served, parse("a --v 6"), "sd-turbo") == "sdxl"
    assert choose_model(served, parse("a --v 6 --turbo"), "sd-turbo") == "sdxl-turbo"
    assert choose_model(served, parse("a --model sd15"), "sdxl") == "sd15"
    assert choose_model(served, parse("a"), "sd15") == "sd15"
    with pytest.raises(Unsupported, match="--v 7 is not a model here"):
        choose_model(served, parse("a --v 7"), "sd-turbo")
    # From /settings, an unmapped version is skipped rather than refused.
    assert choose_model(served, parse("a", PromptDefaults(suffix="--v 7")), "sd15") == "sd15"


def test_references_need_an_adapter_and_links():
    served = {"tiny": PRESETS["tiny"], "tiny-flux": FLUX}
    check(PRESETS["tiny"], parse("a --sref https://x.io/s.png --sw 300"), served)
    with pytest.raises(Unsupported, match="tiny-flux has no image adapter") as refused:
        check(FLUX, parse("a --cref https://x.io/c.png"), served)
    assert "pick a model that has it: tiny" in refused.value.message
    with pytest.raises(Unsupported, match="style codes"):
        check(PRESETS["tiny"], parse("a --sref random"), served)
