"""The engine pool: which presets a worker serves and one engine per preset."""

from __future__ import annotations

import pytest

from inference.engines import EnginePool, UnservedModel
from inference.presets import PRESETS


def test_the_first_served_preset_is_the_default_and_engines_are_made_once(tmp_path):
    pool = EnginePool(PRESETS, ["tiny", "sd-turbo"], tmp_path)
    assert pool.default == "tiny" and pool.names == ["tiny", "sd-turbo"]
    assert pool.get("sd-turbo") is pool.get("sd-turbo")
    assert pool.get("sd-turbo").preset is PRESETS["sd-turbo"]


def test_an_unknown_preset_is_refused_up_front_with_the_valid_names(tmp_path):
    with pytest.raises(ValueError, match=r"\['nope'\]; valid presets: .*sd-turbo"):
        EnginePool(PRESETS, ["tiny", "nope"], tmp_path)


def test_a_preset_not_served_is_a_clear_error(tmp_path):
    pool = EnginePool(PRESETS, ["tiny"], tmp_path)
    with pytest.raises(UnservedModel, match=r"'sdxl' is not served by this worker.*tiny"):
        pool.get("sdxl")


def test_at_most_max_loaded_engines_are_kept_least_recently_used_going_first(tmp_path):
    from inference.engines import EnginePool
    from inference.presets import PRESETS

    pool = EnginePool(PRESETS, ["tiny", "tiny-xl", "tiny-flux"], tmp_path, "cpu", max_loaded=2)
    first = pool.get("tiny")
    pool.get("tiny-xl")
    assert pool.get("tiny") is first  # used again: now the most recent
    pool.get("tiny-flux")
    assert pool.loaded == ["tiny", "tiny-flux"]  # tiny-xl, the least recent, was let go
    assert pool.get("tiny-xl") is not None and pool.loaded == ["tiny-flux", "tiny-xl"]
    with pytest.raises(ValueError, match="at least one"):
        EnginePool(PRESETS, ["tiny"], tmp_path, max_loaded=0)
