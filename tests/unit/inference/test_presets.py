"""Presets: the resolution buckets and presets a server owner adds in a TOML file."""

from __future__ import annotations

import pytest

from inference.presets import (
    DEFAULT_CAPTIONER,
    PRESETS,
    load_presets,
    resolution,
    with_auxiliary,
)


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


def test_a_file_declares_what_its_presets_honour_and_twins_of_built_ins_inherit_it(tmp_path):
    presets = load_presets(
        _file(
            tmp_path,
            '[presets.g0]\nmodel = "builtin:tiny"\nguidance = 0\nsteps = 2\n'
            '[presets.fluxy]\nmodel = "builtin:tiny-flux"\n'
            '[presets.own]\nmodel = "org/own"\naliases = ["6", "Niji 6"]\nturbo = "g0"\n'
            'max_aspect = 2\nfeatures = ["negative"]\nhouse_style = "ink"\n'
            'ip_adapter = "h94/IP-Adapter"\nip_adapter_subfolder = "models"\n'
            'ip_adapter_weight = "ip-adapter_sd15.safetensors"\n',
        )
    )
    g0, fluxy, own = presets["g0"], presets["fluxy"], presets["own"]
    assert g0.ip_adapter == PRESETS["tiny"].ip_adapter and g0.supports == PRESETS["tiny"].supports
    assert fluxy.supports == PRESETS["tiny-flux"].supports and fluxy.ip_adapter is None
    assert (own.aliases, own.turbo, own.max_aspect) == (("6", "niji 6"), "g0", 2.0)
    assert own.supports == frozenset({"negative"}) and own.house_style.positive == "ink"
    assert own.house_style.negative == "" and own.ip_adapter.subfolder == "models"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("[presets.x]\nsteps = 4\n", "`model` (a local path or hub id) is required"),
        ('[presets.x]\nmodel = "m"\ncolour = "l"\n', "unknown keys ['colour']"),
        ('[presets.x]\nmodel = "m"\nlora = "./ink.safetensors"\n', "`lora` './ink.safetensors'"),
        ('[presets.x]\nmodel = "m"\nlora = "not a hub id"\n', "no such file or folder"),
        ('[presets.x]\nmodel = "m"\nlora = 3\n', "`lora` must be a path or hub id"),
        ('[presets.x]\nmodel = "m"\nlora_scale = 0.5\n', "there is no `lora` to scale"),
        ('[presets.x]\nmodel = "m"\nlora = "o/l"\nlora_scale = 3\n', "`lora_scale` must be"),
        ('[presets.x]\nmodel = "m"\nsteps = 0\n', "`steps` must be a positive whole number"),
        ('[presets.x]\nmodel = "m"\nfeatures = ["fly"]\n', "`features` must be a list"),
        ('[presets.x]\nmodel = "m"\nmax_aspect = 20\n', "`max_aspect` must be a number"),
        ('[presets.x]\nmodel = "m"\nnegative_guidance = 0.5\n', "`negative_guidance`"),
        ('[presets.x]\nmodel = "m"\nip_adapter_weight = "w"\n', "need `ip_adapter`"),
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


def test_a_lora_is_a_file_beside_the_presets_file_or_a_hub_id(tmp_path):
    (tmp_path / "loras").mkdir()
    (tmp_path / "loras" / "ink.safetensors").write_bytes(b"")
    presets = load_presets(
        _file(
            tmp_path,
            '[presets.ink]\nmodel = "m"\nlora = "loras/ink.safetensors"\nlora_scale = 0.8\n'
            '[presets.hub]\nmodel = "m"\nlora = "someone/pixel-lora"\n',
        )
    )
    ink, hub = presets["ink"], presets["hub"]
    assert (ink.lora, ink.lora_scale) == (str(tmp_path / "loras" / "ink.safetensors"), 0.8)
    assert (hub.lora, hub.lora_scale) == ("someone/pixel-lora", 1.0)


def test_an_upscaler_is_a_file_beside_the_presets_file_a_hub_file_or_off(tmp_path):
    (tmp_path / "sr.pth").write_bytes(b"")
    presets = load_presets(
        _file(
            tmp_path,
            '[presets.local]\nmodel = "m"\nupscaler = "sr.pth"\n'
            '[presets.hub]\nmodel = "m"\nupscaler = "owner/repo/x4.pth"\n'
            '[presets.none]\nmodel = "m"\nupscaler = "off"\n'
            '[presets.plain]\nmodel = "m"\n'
            '[presets.twin]\nmodel = "builtin:tiny"\n',
        )
    )
    assert presets["local"].upscaler == str(tmp_path / "sr.pth")
    assert presets["hub"].upscaler == "owner/repo/x4.pth"
    assert presets["none"].upscaler == "off"
    assert presets["plain"].upscaler == PRESETS["sd15"].upscaler  # the default model
    assert presets["twin"].upscaler == PRESETS["tiny"].upscaler == "builtin"
    with pytest.raises(ValueError, match=r"\[presets.bad\]: `upscaler` 'models/x4.pth': no such"):
        load_presets(_file(tmp_path, '[presets.bad]\nmodel = "m"\nupscaler = "models/x4.pth"\n'))


def test_a_captioner_comes_from_the_presets_file_its_built_in_twin_or_the_setting(tmp_path):
    presets = load_presets(
        _file(
            tmp_path,
            '[presets.own]\nmodel = "m"\ncaptioner = "Salesforce/blip-image-captioning-base"\n'
            '[presets.plain]\nmodel = "m"\n'
            '[presets.twin]\nmodel = "builtin:tiny"\n',
        )
    )
    assert presets["own"].captioner == "Salesforce/blip-image-captioning-base"
    assert presets["plain"].captioner == DEFAULT_CAPTIONER
    assert presets["twin"].captioner == PRESETS["tiny"].captioner == "builtin"
    with pytest.raises(ValueError, match=r"`captioner` must be"):
        load_presets(_file(tmp_path, '[presets.bad]\nmodel = "m"\ncaptioner = 3\n'))
    chosen = with_auxiliary(presets, None, "off")
    assert {p.captioner for p in chosen.values()} == {"off"}
    assert chosen["own"].upscaler == presets["own"].upscaler  # untouched when not set
    assert with_auxiliary(presets, "x.pth", None)["twin"].captioner == "builtin"


def test_pinned_weights_and_licences_come_from_the_presets_file(tmp_path):
    presets = load_presets(
        _file(
            tmp_path,
            '[presets.pinned]\nmodel = "o/m"\nrevision = "abc123"\nvariant = "fp16"\n'
            'licence = "a research licence"\nrestricted = true\n',
        )
    )
    pinned = presets["pinned"]
    assert (pinned.revision, pinned.variant, pinned.restricted) == ("abc123", "fp16", True)
    assert pinned.licence == "a research licence"
    with pytest.raises(ValueError, match="`restricted` must be true or false"):
        load_presets(_file(tmp_path, '[presets.bad]\nmodel = "m"\nrestricted = "yes"\n'))
