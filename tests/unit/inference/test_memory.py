"""Memory options on the tiny preset: applied at load, results unchanged in size."""

from __future__ import annotations

import logging

import pytest
import torch
from diffusers.models.attention_processor import SlicedAttnProcessor

from inference.engine import Engine, pick_device
from inference.memory import MemoryOptions
from inference.presets import PRESETS, resolution
from inference.prompt import parse

TINY = PRESETS["tiny"]


def _loaded(models_dir, **options) -> Engine:
    engine = Engine("tiny", models_dir, memory=MemoryOptions(**options))
    engine.load()
    return engine


def test_attention_slicing_swaps_every_attention_processor_and_keeps_the_size(tiny_models_dir):
    engine = _loaded(tiny_models_dir, attention_slicing=True)
    processors = engine._pipe.unet.attn_processors
    assert processors and all(isinstance(p, SlicedAttnProcessor) for p in processors.values())
    assert engine._img2img.unet is engine._pipe.unet  # the derived pipelines share it
    images = engine.grid(parse("a fox --ar 3:2 --seed 1"), seed=1)
    assert [i.size for i in images] == [resolution(TINY, (3, 2))] * 4


def test_without_the_setting_attention_is_not_sliced(tiny_models_dir):
    engine = _loaded(tiny_models_dir)
    processors = engine._pipe.unet.attn_processors.values()
    assert not any(isinstance(p, SlicedAttnProcessor) for p in processors)
    assert not engine._pipe.vae.use_tiling


def test_vae_tiling_stays_on_through_big_decodes_and_keeps_sizes(tiny_models_dir):
    engine = _loaded(tiny_models_dir, vae_tiling=True)
    assert engine._pipe.vae.use_tiling
    images = engine.grid(parse("a fox --ar 2:1 --seed 1"), seed=1)
    assert [i.size for i in images] == [resolution(TINY, (2, 1))] * 4
    upscaled = engine.upscale(parse("a fox"), images[0], seed=1, creative=True)
    assert upscaled.size == (2 * images[0].width, 2 * images[0].height)
    assert engine._pipe.vae.use_tiling  # the big-image context left the setting alone


@pytest.mark.parametrize("mode", ["model", "sequential"])
def test_cpu_offload_on_cpu_is_skipped_with_a_warning(tiny_models_dir, caplog, mode):
    with caplog.at_level(logging.WARNING, logger="inference.memory"):
        engine = _loaded(tiny_models_dir, cpu_offload=mode)
    assert f"IMAGINEBOT_CPU_OFFLOAD={mode} is ignored on device 'cpu'" in caplog.text
    assert engine.device == "cpu" and not hasattr(engine._pipe.unet, "_hf_hook")
    assert len(engine.grid(parse("a fox --seed 2"), seed=2)) == 4


def test_a_dtype_override_wins_over_the_device_default():
    assert pick_device("cpu") == ("cpu", torch.float32)
    assert pick_device("cpu", "bfloat16") == ("cpu", torch.bfloat16)
    assert pick_device("cuda", None) == ("cuda", torch.float16)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"cpu_offload": "gpu"}, "cpu_offload must be none, model or sequential, got 'gpu'"),
        ({"dtype": "int8"}, "dtype must be one of float32, float16, bfloat16, got 'int8'"),
    ],
    ids=["offload", "dtype"],
)
def test_bad_options_are_refused_naming_the_value(options, message):
    with pytest.raises(ValueError, match=message):
        MemoryOptions(**options)


def test_torch_compile_is_for_cuda_and_skipped_on_cpu_with_a_warning(tiny_models_dir, caplog):
    with caplog.at_level(logging.WARNING):
        engine = _loaded(tiny_models_dir, compile=True)
    assert "IMAGINEBOT_TORCH_COMPILE is ignored on device 'cpu'" in caplog.text
    assert type(engine._pipe.unet).__name__ == "UNet2DConditionModel"  # not compiled
