"""Miniature, randomly initialised Stable Diffusion, SDXL and Flux pipelines, built offline.

Tests and try-outs run the real diffusers loading and denoising code on it in seconds. Its
images are noise-like by design. The weights come from a fixed seed, so every build writes
the same tensors; the tokenizer uses a byte-level vocabulary generated here (no download).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

TINY_SEED = 1234
_COMPLETE_MARK = "imaginebot-tiny.json"
_VERSION = 3
# A randomly initialised UNet barely listens to its text: the output of every cross-attention
# is scaled up by this, so that prompt flags (negatives, weights, style) visibly steer it.
_CROSS_ATTENTION_GAIN = 10.0
# And its text encoder's token embeddings, so that different words encode further apart.
_TOKEN_EMBEDDING_GAIN = 10.0


def build_tiny_pipeline(path: Path) -> Path:
    """Write the tiny Stable Diffusion pipeline to `path` (reused when already complete)."""
    return _build(path, _tiny_sd)


def build_tiny_xl_pipeline(path: Path) -> Path:
    """Write the tiny SDXL pipeline (two text encoders, pooled and time conditioning) to
    `path`: the SDXL code paths (sdxl, sdxl-turbo) run offline on it."""
    return _build(path, _tiny_xl)


def build_tiny_flux_pipeline(path: Path) -> Path:
    """Write the tiny Flux pipeline (a one-block transformer over 16-channel latents, CLIP
    pooled and T5 token conditioning) to `path`: the flux-schnell code path, offline."""
    return _build(path, _tiny_flux)


def _build(path: Path, make: Callable[[], Any]) -> Path:
    path = Path(path)
    if _complete(path):
        return path
    import torch
    from diffusers.utils import logging as diffusers_logging
    from transformers.utils import logging as transformers_logging

    diffusers_logging.disable_progress_bar()
    transformers_logging.disable_progress_bar()
    torch.manual_seed(TINY_SEED)
    pipe = make()
    path.mkdir(parents=True, exist_ok=True)
    # Build beside the target and rename, so a crash never leaves a half-written model.
    with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
        pipe.save_pretrained(tmp)
        _move_into(Path(tmp), path)
    return path


def _complete(path: Path) -> bool:
    """Whether `path` holds a finished build of this version."""
    mark = path / _COMPLETE_MARK
    return mark.exists() and json.loads(mark.read_text()).get("version") == _VERSION


def _move_into(built: Path, path: Path) -> None:
    """Move what was built into `path`, replacing an older build's files, then mark the
    build complete (last: a crash before it leaves the build to be done again)."""
    import shutil

    for item in built.iterdir():
        target = path / item.name
        if target.is_dir():
            shutil.rmtree(target)
        item.replace(target)
    (path / _COMPLETE_MARK).write_text(json.dumps({"version": _VERSION, "seed": TINY_SEED}))


def _tiny_sd() -> Any:
    from diffusers import StableDiffusionPipeline

    return StableDiffusionPipeline(
        unet=_unet(cross_attention_dim=_TEXT_DIM, attention_head_dim=8),
        vae=_vae(),
        text_encoder=_text_encoder(with_projection=False),
        tokenizer=_byte_tokenizer(),
        scheduler=_scheduler(),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )


def _tiny_xl() -> Any:
    from diffusers import StableDiffusionXLPipeline

    unet = _unet(
        attention_head_dim=(2, 4),
        use_linear_projection=True,
        # SDXL's extra conditioning: six time ids of 8 features plus the pooled text (32).
        addition_embed_type="text_time",
        addition_time_embed_dim=8,
        projection_class_embeddings_input_dim=6 * 8 + _TEXT_DIM,
        cross_attention_dim=2 * _TEXT_DIM,  # both encoders' hidden states, concatenated
    )
    return StableDiffusionXLPipeline(
        vae=_vae(),
        text_encoder=_text_encoder(with_projection=False),
        text_encoder_2=_text_encoder(with_projection=True),
        tokenizer=_byte_tokenizer(),
        tokenizer_2=_byte_tokenizer(),
        unet=unet,
        scheduler=_scheduler(),
    )


def _tiny_flux() -> Any:
    from diffusers import FlowMatchEulerDiscreteScheduler, FluxPipeline, FluxTransformer2DModel

    transformer = FluxTransformer2DModel(
        patch_size=1,
        in_channels=4 * 16,  # 2x2 patches of 16 latent channels
        num_layers=1,
        num_single_layers=1,
        attention_head_dim=16,
        num_attention_heads=2,
        joint_attention_dim=_TEXT_DIM,  # T5 token states
        pooled_projection_dim=_TEXT_DIM,  # CLIP pooled output
        axes_dims_rope=(4, 6, 6),  # sums to attention_head_dim
    ).eval()
    return FluxPipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(),
        vae=_vae(latent_channels=16, flux=True),
        text_encoder=_text_encoder(with_projection=False),
        tokenizer=_byte_tokenizer(),
        text_encoder_2=_t5_encoder(),
        tokenizer_2=_t5_tokenizer(),
        transformer=transformer,
    )


_TEXT_DIM = 32


def _unet(**conditioning: Any) -> Any:
    """Two blocks, one with cross-attention; `conditioning` sets what it attends to."""
    import torch
    from diffusers import UNet2DConditionModel

    unet = UNet2DConditionModel(
        block_out_channels=(32, 64),
        layers_per_block=1,
        sample_size=16,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        norm_num_groups=16,
        **conditioning,
    ).eval()
    with torch.no_grad():
        for name, module in unet.named_modules():
            if name.endswith("attn2.to_out.0"):
                module.weight.mul_(_CROSS_ATTENTION_GAIN)
                module.bias.mul_(_CROSS_ATTENTION_GAIN)
    return unet


def _vae(latent_channels: int = 4, flux: bool = False) -> Any:
    from diffusers import AutoencoderKL

    # Flux's VAE has no quant convolutions and shifts its latents before scaling them.
    extra: dict[str, Any] = (
        {"use_quant_conv": False, "use_post_quant_conv": False, "shift_factor": 0.0609}
        if flux
        else {}
    )
    # Four blocks give vae_scale_factor 8, as in real models: latents stay small.
    return AutoencoderKL(
        block_out_channels=(16, 16, 32, 32),
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        latent_channels=latent_channels,
        norm_num_groups=8,
        sample_size=64,
        **extra,
    ).eval()


def _text_encoder(with_projection: bool) -> Any:
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    config = CLIPTextConfig(
        bos_token_id=0,
        eos_token_id=2,
        hidden_size=_TEXT_DIM,
        intermediate_size=37,
        layer_norm_eps=1e-05,
        num_attention_heads=4,
        num_hidden_layers=2,
        pad_token_id=1,
        vocab_size=_VOCAB_SIZE,
        max_position_embeddings=77,
        projection_dim=_TEXT_DIM,
    )
    model = CLIPTextModelWithProjection(config) if with_projection else CLIPTextModel(config)
    import torch

    with torch.no_grad():  # random token embeddings are faint next to the position ones
        model.get_input_embeddings().weight.mul_(_TOKEN_EMBEDDING_GAIN)
    return model.eval()


def _t5_encoder() -> Any:
    from transformers import T5Config, T5EncoderModel

    config = T5Config(
        vocab_size=_VOCAB_SIZE,
        d_model=_TEXT_DIM,
        d_kv=8,
        d_ff=37,
        num_layers=2,
        num_heads=4,
        pad_token_id=0,
        eos_token_id=1,
        decoder_start_token_id=0,
    )
    return T5EncoderModel(config).eval()


def _t5_tokenizer() -> object:
    """A T5 (unigram) tokenizer over single printable characters, each also with the word-start
    mark: no sentencepiece model to download."""
    import string

    from transformers import T5TokenizerFast

    pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("\u2581", -2.0)]
    for char in string.printable.strip():
        pieces += [(char, -3.0), ("\u2581" + char, -3.0)]
    assert len(pieces) <= _VOCAB_SIZE
    return T5TokenizerFast(vocab=pieces, extra_ids=0, model_max_length=512)


def _scheduler() -> Any:
    from diffusers import EulerAncestralDiscreteScheduler

    return EulerAncestralDiscreteScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        timestep_spacing="trailing",
        steps_offset=1,
    )


def _byte_vocabulary() -> dict[str, int]:
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    vocab = {"<|startoftext|>": 0, "!": 1, "<|endoftext|>": 2}
    for char in bytes_to_unicode().values():
        vocab.setdefault(char, len(vocab))
        vocab.setdefault(char + "</w>", len(vocab))
    return vocab


_VOCAB_SIZE = 600


def _byte_tokenizer() -> object:
    from transformers import CLIPTokenizer

    vocab = _byte_vocabulary()
    assert len(vocab) <= _VOCAB_SIZE
    with tempfile.TemporaryDirectory() as tmp:
        vocab_file = Path(tmp) / "vocab.json"
        merges_file = Path(tmp) / "merges.txt"
        vocab_file.write_text(json.dumps(vocab))
        merges_file.write_text("#version: 0.2\n")
        return CLIPTokenizer(str(vocab_file), str(merges_file), model_max_length=77)


IP_ADAPTER_WEIGHTS = "ip-adapter.safetensors"


def build_tiny_ip_adapter(path: Path, unet: Any) -> Path:
    """Write a randomly initialised IP-Adapter for `unet` to `path` (image encoder in
    `path/image_encoder`, weights in IP_ADAPTER_WEIGHTS), in the layout diffusers'
    load_ip_adapter reads, so --sref and --cref run the real adapter code offline."""
    path = Path(path)
    if _complete(path):
        return path
    import torch
    from safetensors.torch import save_file
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    torch.manual_seed(TINY_SEED)
    encoder = CLIPVisionModelWithProjection(
        CLIPVisionConfig(
            hidden_size=_TEXT_DIM,
            intermediate_size=37,
            num_hidden_layers=2,
            num_attention_heads=4,
            image_size=32,
            patch_size=8,
            projection_dim=_TEXT_DIM,
        )
    ).eval()
    cross = unet.config.cross_attention_dim
    tokens = 4  # the plain IP-Adapter's image tokens
    weights = {
        "image_proj.proj.weight": torch.randn(cross * tokens, _TEXT_DIM) * 0.2,
        "image_proj.proj.bias": torch.zeros(cross * tokens),
        "image_proj.norm.weight": torch.ones(cross),
        "image_proj.norm.bias": torch.zeros(cross),
    }
    key_id = 1  # diffusers numbers the cross-attention processors 1, 3, 5...
    for name in unet.attn_processors:
        if name.endswith("attn1.processor"):
            continue
        attention = unet.get_submodule(name.removesuffix(".processor"))
        shape = attention.to_k.weight.shape
        for part in ("to_k_ip", "to_v_ip"):
            weights[f"ip_adapter.{key_id}.{part}.weight"] = torch.randn(shape) * 0.5
        key_id += 2
    path.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
        encoder.save_pretrained(Path(tmp) / "image_encoder")
        save_file(weights, str(Path(tmp) / IP_ADAPTER_WEIGHTS))
        _move_into(Path(tmp), path)
    return path
