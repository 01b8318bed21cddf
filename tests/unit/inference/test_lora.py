"""A preset's LoRA, fused at load: a tiny random LoRA for the tiny UNet, built here."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from inference.engine import Engine
from inference.presets import PRESETS, load_presets
from inference.prompt import parse
from inference.tiny import build_tiny_pipeline

pytest.importorskip("peft", reason="LoRA loading needs the lora extra (peft)")


@pytest.fixture(scope="module")
def tiny_lora(tiny_models_dir) -> Path:
    """A rank-4 LoRA on the tiny UNet's attention projections, random but seeded."""
    import torch
    from diffusers import StableDiffusionPipeline, UNet2DConditionModel
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    tiny = build_tiny_pipeline(tiny_models_dir / "tiny")
    torch.manual_seed(7)
    unet = UNet2DConditionModel.from_pretrained(tiny / "unet")
    unet.add_adapter(
        LoraConfig(
            r=4,
            lora_alpha=4,
            target_modules=["to_q", "to_k", "to_v", "to_out.0"],
            init_lora_weights=False,  # random on both sides, so it changes the output
        )
    )
    folder = tiny_models_dir / "tiny-lora"
    StableDiffusionPipeline.save_lora_weights(
        folder, unet_lora_layers=get_peft_model_state_dict(unet), safe_serialization=True
    )
    return folder / "pytorch_lora_weights.safetensors"


def _grid(models_dir: Path, **preset_changes) -> list[np.ndarray]:
    engine = Engine(replace(PRESETS["tiny"], **preset_changes), models_dir)
    return [np.asarray(i) for i in engine.grid(parse("a fox --seed 9"), seed=9)]


def test_a_lora_changes_the_result_reproducibly_and_by_its_scale(tiny_models_dir, tiny_lora):
    plain = _grid(tiny_models_dir)
    with_lora = _grid(tiny_models_dir, lora=str(tiny_lora), lora_scale=1.0)
    again = _grid(tiny_models_dir, lora=str(tiny_lora), lora_scale=1.0)
    weaker = _grid(tiny_models_dir, lora=str(tiny_lora), lora_scale=0.3)

    def distance(a, b):
        return float(np.mean([np.abs(x - y.astype(int)).mean() for x, y in zip(a, b, strict=True)]))

    assert all(np.array_equal(a, b) for a, b in zip(with_lora, again, strict=True))
    assert distance(plain, with_lora) > 0
    assert 0 < distance(plain, weaker) < distance(plain, with_lora)


def test_a_lora_from_the_presets_file_is_fused_at_load(tiny_models_dir, tiny_lora, tmp_path):
    tiny = build_tiny_pipeline(tiny_models_dir / "tiny")
    presets_file = tmp_path / "presets.toml"
    presets_file.write_text(
        f'[presets.ink]\nmodel = "{tiny}"\nnative_size = 64\nmultiple = 16\nsteps = 2\n'
        f'lora = "{tiny_lora}"\nlora_scale = 0.8\n'
    )
    preset = load_presets(presets_file)["ink"]
    engine = Engine(preset, tiny_models_dir)
    engine.load()
    assert not engine._pipe.get_list_adapters()  # merged into the weights, adapters gone
    assert len(engine.grid(parse("a fox --seed 1"), seed=1)) == 4


def test_a_lora_that_does_not_fit_the_model_fails_the_load_naming_preset_and_lora(
    tiny_models_dir, tmp_path
):
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"not a safetensors file")
    engine = Engine(replace(PRESETS["tiny"], name="ink", lora=str(broken)), tiny_models_dir)
    with pytest.raises(RuntimeError, match=r"preset 'ink': the LoRA '.*broken\.safetensors'"):
        engine.load()
