"""Super-resolution through spandrel: a tiny model file loaded like a downloaded one."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from safetensors.torch import save_file
from spandrel.architectures.Compact import Compact

from inference import upscaler as upscaler_module
from inference.upscaler import Upscaler, UpscalerError, build_tiny_upscaler


def _picture(width: int, height: int, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, (height // 8, width // 8, 3), dtype=np.uint8)
    return Image.fromarray(coarse).resize((width, height), Image.Resampling.BICUBIC)


@pytest.fixture(scope="module")
def tiny_file(tmp_path_factory):
    return build_tiny_upscaler(tmp_path_factory.mktemp("sr") / "tiny.safetensors")


def test_a_model_file_is_loaded_through_spandrel_and_upscales(tiny_file, tmp_path):
    upscaler = Upscaler(str(tiny_file), tmp_path)
    image = _picture(96, 64)
    assert upscaler.scale == 4
    two, four = upscaler.upscale(image, 2), upscaler.upscale(image, 4)
    assert two.size == (192, 128) and four.size == (384, 256)
    assert np.array_equal(np.asarray(two), np.asarray(upscaler.upscale(image, 2)))
    plain = np.asarray(image.resize(four.size, Image.Resampling.LANCZOS), np.float32)
    assert np.abs(np.asarray(four, np.float32) - plain).mean() > 2


def test_tiles_give_the_whole_image_result(tiny_file, tmp_path, monkeypatch):
    image = _picture(600, 328, seed=3)  # several tiles of 256 px
    tiled = np.asarray(Upscaler(str(tiny_file), tmp_path).upscale(image, 4), np.float32)
    monkeypatch.setattr(upscaler_module, "TILE", 4096)  # one tile: the model on the whole image
    whole = np.asarray(Upscaler(str(tiny_file), tmp_path).upscale(image, 4), np.float32)
    difference = np.abs(tiled - whole)
    # Tile edges see zero padding, not the neighbour: faded out across the overlap.
    assert difference.mean() < 0.05 and difference.max() <= 8


def test_a_2x_model_runs_twice_for_4x(tmp_path):
    path = build_tiny_upscaler(tmp_path / "x2.safetensors", scale=2)
    upscaler = Upscaler(str(path), tmp_path)
    progress = []
    out = upscaler.upscale(_picture(64, 48), 4, progress.append)
    assert upscaler.scale == 2 and out.size == (256, 192)
    assert progress == sorted(progress) and progress[-1] == pytest.approx(1.0)


def test_the_builtin_model_is_written_once_and_reused(tmp_path):
    first = Upscaler("builtin", tmp_path)
    image = _picture(32, 32)
    out = first.upscale(image, 2)
    written = tmp_path / "tiny-upscaler.safetensors"
    stamp = written.stat().st_mtime_ns
    assert np.array_equal(
        np.asarray(out), np.asarray(Upscaler("builtin", tmp_path).upscale(image, 2))
    )
    assert written.stat().st_mtime_ns == stamp


def test_what_is_not_a_super_resolution_model_is_refused_saying_why(tmp_path):
    with pytest.raises(UpscalerError, match="no such file"):
        Upscaler(str(tmp_path / "missing.pth"), tmp_path).load()
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a model")
    with pytest.raises(UpscalerError, match="could not be loaded"):
        Upscaler(str(junk), tmp_path).load()
    with pytest.raises(UpscalerError, match="IMAGINEBOT_UPSCALER"):
        Upscaler("off", tmp_path).load()
    same_size = tmp_path / "x1.safetensors"
    save_file(Compact(num_feat=8, num_conv=2, upscale=1).state_dict(), str(same_size))
    with pytest.raises(UpscalerError, match="scale 1, not a super-resolution model"):
        Upscaler(str(same_size), tmp_path).load()
