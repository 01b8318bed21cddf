"""Restricted weight licences are accepted by name (or all at once) before presets load."""

from __future__ import annotations

import pytest

from inference.licences import check_licences
from inference.presets import PRESETS, served_presets


def test_only_the_restricted_presets_served_need_accepting():
    check_licences(served_presets(PRESETS, ["sd15", "sdxl", "flux-schnell", "tiny"]), [])
    turbo = served_presets(PRESETS, ["sdxl", "sd-turbo", "sdxl-turbo"])
    with pytest.raises(ValueError, match=r"IMAGINEBOT_ACCEPT_LICENCES=sd-turbo,sdxl-turbo"):
        check_licences(turbo, [])
    with pytest.raises(ValueError, match=r"IMAGINEBOT_ACCEPT_LICENCES=sdxl-turbo \("):
        check_licences(turbo, ["sd-turbo"])
    check_licences(turbo, ["sd-turbo", "sdxl-turbo"])
    check_licences(turbo, ["all"])


def test_every_built_in_preset_names_its_licence():
    assert all(p.licence and p.licence != "see the model's card" for p in PRESETS.values())
    assert {p.name for p in PRESETS.values() if p.restricted} == {"sd-turbo", "sdxl-turbo"}
