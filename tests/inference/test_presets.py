"""Presets: the resolution buckets and presets a server owner adds in a TOML file."""

from __future__ import annotations

import pytest

from inference.presets import PRESETS, load_presets, resolution


def _file(tmp_path, text):
    path = tmp_path / "presets.toml"
    path.write_text(text)
    return path


def test_no_file_means_the_built_in_presets():
    assert load_presets(None) == PRESETS


def test_a_file_adds_presets_with_defaults_for_what_it_leaves_out(tmp_path):
    presets = load_presets(
        _file(
            tmp_path,
            '[presets.house]\nmodel = "/models/house"\nnative_size = 768\nsteps = 20\n'
            '[presets.mini]\nmodel = "org/mini"\nguidance = 3.5\n',
        )
    )
    assert set(PRESETS) < set(presets)
    house, mini = presets["house"], presets["mini"]
    assert (house.model_id, house.native_size, house.default_steps) == ("/models/house", 768, 20)
    assert (mini.model_id, mini.native_size, mini.guidance_scale) == ("org/mini", 512, 3.5)
    assert resolution(house, (1, 1)) == (768, 768)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("[presets.x]\nsteps = 4\n", "`model` (a local path or hub id) is required"),
        ('[presets.x]\nmodel = "m"\nlora = "l"\n', "unknown keys ['lora']"),
        ('[presets.x]\nmodel = "m"\nsteps = 0\n', "`steps` must be a positive whole number"),
        ('[presets.x]\nmodel = "m"\nnative_size = "big"\n', "`native_size` must be"),
        ('[presets.x]\nmodel = "m"\nguidance = -1\n', "`guidance` must be a number >= 0"),
        ("[presets.x\n", "presets file"),
        ("presets = 3\n", "presets file"),
    ],
)
def test_a_bad_file_names_the_preset_and_the_key(tmp_path, text, says):
    with pytest.raises(ValueError, match="presets file") as raised:
        load_presets(_file(tmp_path, text))
    assert says in str(raised.value)


def test_a_missing_file_is_reported(tmp_path):
    with pytest.raises(ValueError, match=r"presets file .*missing\.toml"):
        load_presets(tmp_path / "missing.toml")
