"""A miniature, randomly initialised BLIP captioning model, built offline.

/describe's tests and `--model tiny` run the real transformers loading and generation code
on it in a fraction of a second. Its vocabulary is a few dozen plain words written here, so
its random captions read as words; the weights come from a fixed seed.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

_COMPLETE_MARK = "imaginebot-tiny.json"
_VERSION = 3
_SEED = 4321
# Random weights barely look at the image: the cross-attention's output is scaled up by
# this, so different images get different captions.
_CROSS_ATTENTION_GAIN = 10.0
_SPECIAL = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[DEC]")
_WORDS = (
    "a", "an", "the", "of", "with", "in", "on", "and", "at", "by", "under", "near", "over",
    "cat", "dog", "bird", "horse", "fox", "owl", "woman", "man", "girl", "boy", "robot",
    "dragon", "knight", "city", "forest", "desert", "ocean", "river", "mountain", "castle",
    "garden", "street", "beach", "village", "painting", "photo", "illustration", "sketch",
    "portrait", "landscape", "poster", "red", "blue", "green", "golden", "silver", "purple",
    "dark", "bright", "misty", "sunset", "night", "morning", "storm", "snow", "rain", "light",
    "shadow", "old", "small", "large", "ancient", "futuristic", "quiet", "colorful", "sitting",
    "standing", "walking", "flying", "reading", "sleeping", "flowers", "trees", "clouds",
    "stars", "lanterns", "boats",
)  # fmt: skip


def build_tiny_captioner(path: Path) -> Path:
    """Write the tiny captioner (model and processor) to `path`, reused once complete."""
    path = Path(path)
    mark = path / _COMPLETE_MARK
    if mark.exists() and json.loads(mark.read_text()).get("version") == _VERSION:
        return path
    import torch
    from transformers import (
        BertTokenizerFast,
        BlipConfig,
        BlipForConditionalGeneration,
        BlipImageProcessor,
        BlipProcessor,
    )

    vocab = {token: n for n, token in enumerate((*_SPECIAL, *_WORDS))}
    tokenizer = BertTokenizerFast(vocab=vocab, bos_token="[DEC]")
    special = {name: vocab[f"[{name.upper()}]"] for name in ("pad", "sep")}
    config = BlipConfig(
        text_config={
            "vocab_size": len(vocab),
            "hidden_size": 32,
            "encoder_hidden_size": 32,
            "intermediate_size": 37,
            "num_hidden_layers": 1,
            "num_attention_heads": 4,
            "max_position_embeddings": 64,
            "bos_token_id": vocab["[DEC]"],
            "pad_token_id": special["pad"],
            "sep_token_id": special["sep"],
            "eos_token_id": special["sep"],
        },
        vision_config={
            "hidden_size": 32,
            "intermediate_size": 37,
            "num_hidden_layers": 1,
            "num_attention_heads": 4,
            "image_size": 32,
            "patch_size": 8,
            "initializer_range": 0.02,  # BLIP's default, 1e-10, leaves the image unseen
        },
    )
    torch.manual_seed(_SEED)
    model = BlipForConditionalGeneration(config).eval()
    with torch.no_grad():
        for layer in model.text_decoder.bert.encoder.layer:
            layer.crossattention.output.dense.weight.mul_(_CROSS_ATTENTION_GAIN)
    processor = BlipProcessor(BlipImageProcessor(size={"height": 32, "width": 32}), tokenizer)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Built beside the target and renamed: a crash never leaves a half-written model.
    with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
        model.save_pretrained(tmp)
        processor.save_pretrained(tmp)
        Path(tmp, _COMPLETE_MARK).write_text(json.dumps({"version": _VERSION, "seed": _SEED}))
        if path.exists():
            import shutil

            shutil.rmtree(path)
        Path(tmp).rename(path)
        Path(tmp).mkdir()  # for TemporaryDirectory's clean-up
    return path
