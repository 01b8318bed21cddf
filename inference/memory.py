"""Memory options for a loaded pipeline: trade speed for GPU memory, set once at load.

Attention slicing computes attention in slices; VAE tiling decodes in tiles (big images
always do, see engine._vae_tiling; this setting makes every decode tiled); CPU offload keeps
weights in system memory and moves each model (or each layer, "sequential") to the GPU only
while it runs. Offload needs CUDA and the `accelerate` package; on other devices it is
skipped with a warning, since the weights are in system memory already.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal

log = logging.getLogger(__name__)

Offload = Literal["none", "model", "sequential"]
# torch's names for the dtypes a pipeline may load in (not torch's objects: the settings
# check these, and `imaginebot` should answer a settings mistake without importing torch).
DTYPES = ("float32", "float16", "bfloat16")


def check_dtype(dtype: str) -> str:
    """`dtype` if it is one of DTYPES, else a ValueError naming them."""
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    return dtype


@dataclass(frozen=True)
class MemoryOptions:
    attention_slicing: bool = False
    vae_tiling: bool = False
    cpu_offload: Offload = "none"
    dtype: str | None = None  # one of DTYPES; None: fp16 on CUDA, else fp32
    compile: bool = False  # torch.compile the denoiser (CUDA only: minutes once, then faster)

    def __post_init__(self) -> None:
        if self.cpu_offload not in ("none", "model", "sequential"):
            raise ValueError(
                f"cpu_offload must be none, model or sequential, got {self.cpu_offload!r}"
            )
        if self.dtype is not None:
            check_dtype(self.dtype)

    def offloads(self, device: str) -> bool:
        """Whether offload applies on `device` (then the pipeline is not moved there whole)."""
        return self.cpu_offload != "none" and device.startswith("cuda")


def apply_memory_options(pipe: Any, options: MemoryOptions, device: str) -> None:
    """Apply the options to a freshly loaded pipeline (before any derived pipeline is made:
    from_pipe shares the same modules, so the derived ones inherit slicing, tiling and hooks)."""
    if options.attention_slicing:
        pipe.enable_attention_slicing()
    if options.vae_tiling and getattr(pipe, "vae", None) is not None:
        pipe.vae.enable_tiling()
    if options.compile:
        _compile_denoiser(pipe, device)
    if options.cpu_offload == "none":
        return
    if not options.offloads(device):
        log.warning(
            "IMAGINEBOT_CPU_OFFLOAD=%s is ignored on device %r: offload moves weights between "
            "system memory and a CUDA GPU",
            options.cpu_offload,
            device,
        )
        return
    try:
        import accelerate  # noqa: F401
    except ImportError:
        raise RuntimeError(
            f"IMAGINEBOT_CPU_OFFLOAD={options.cpu_offload} needs the accelerate package: "
            "pip install 'imaginebot[offload]' (or pip install accelerate)"
        ) from None
    if options.cpu_offload == "model":
        pipe.enable_model_cpu_offload(device=device)
    else:
        pipe.enable_sequential_cpu_offload(device=device)


def _compile_denoiser(pipe: Any, device: str) -> None:
    """torch.compile the UNet (or Flux's transformer) on CUDA; elsewhere say why not."""
    if not device.startswith("cuda"):
        log.warning("IMAGINEBOT_TORCH_COMPILE is ignored on device %r: it pays off on CUDA", device)
        return
    import torch

    name = "transformer" if getattr(pipe, "transformer", None) is not None else "unet"
    setattr(pipe, name, torch.compile(getattr(pipe, name), mode="max-autotune-no-cudagraphs"))
