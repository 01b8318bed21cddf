"""The tiny preset is built offline, deterministically, and loaded through from_pretrained."""

from __future__ import annotations

from inference.tiny import build_tiny_pipeline


def _weights(path):
    return {str(f.relative_to(path)): f.read_bytes() for f in sorted(path.rglob("*.safetensors"))}


def test_two_builds_write_identical_weights_and_a_complete_build_is_reused(tmp_path):
    first = build_tiny_pipeline(tmp_path / "a")
    second = build_tiny_pipeline(tmp_path / "b")
    assert _weights(first) and _weights(first) == _weights(second)
    stamp = (first / "model_index.json").stat().st_mtime_ns
    assert build_tiny_pipeline(first) == first
    assert (first / "model_index.json").stat().st_mtime_ns == stamp
    for part in ("unet", "vae", "text_encoder", "tokenizer", "scheduler"):
        assert (first / part).is_dir()
