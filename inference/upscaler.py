"""Super-resolution: a Real-ESRGAN, SwinIR, HAT, DAT... model loaded through spandrel (MIT),
which reads a `.pth` or `.safetensors` file and detects its architecture and scale.

Where the model comes from (`source`, a preset's `upscaler` or IMAGINEBOT_UPSCALER):
- a local file;
- a file on the Hugging Face hub, `owner/repo/path/in/repo.pth` (downloaded on first use
  into the models folder, like the diffusion models);
- `builtin`: a tiny randomly initialised Real-ESRGAN compact model written on the fly, so the real
  loading and tiling code runs offline in tests and with --model tiny.

The model runs tile by tile (inference.tiles): memory is set by TILE, whatever the image size.
A 4x model asked for 2x shrinks each tile's output to 2x before it is stitched; a 2x model
asked for 4x runs twice. Blocking and CPU/GPU-heavy: call it from a worker thread.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image

from inference.presets import BUILTIN_UPSCALER, NO_UPSCALER, hub_file
from inference.tiles import process_tiled

# Input pixels per tile side at most (tiles shrink to fit the image), and their overlap.
TILE = 256
TILE_OVERLAP = 16
_TINY_SEED = 4321


class UpscalerError(Exception):
    """The super-resolution model is not configured, or can't be loaded or used."""


class Upscaler:
    def __init__(self, source: str, cache_dir: Path, device: str = "cpu") -> None:
        self.source = source
        self.cache_dir = Path(cache_dir)
        self.device = device
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def scale(self) -> int:
        self.load()
        return int(self._model.scale)

    def load(self) -> None:
        """Read the weights once (idempotent); UpscalerError saying what is wrong."""
        with self._lock:
            if self._model is not None:
                return
            import spandrel

            if self.source == NO_UPSCALER:
                raise UpscalerError(
                    "upscaling is off on this bot: its owner can turn it on with "
                    "IMAGINEBOT_UPSCALER (a super-resolution model file)"
                )
            path = self._file()
            try:
                model = spandrel.ModelLoader().load_from_file(path)
            except Exception as exc:
                raise UpscalerError(
                    f"the upscaler {self.source!r} could not be loaded ({exc}); "
                    "IMAGINEBOT_UPSCALER takes a super-resolution model file (.pth or "
                    ".safetensors: Real-ESRGAN, SwinIR, HAT, DAT...)"
                ) from exc
            if not isinstance(model, spandrel.ImageModelDescriptor) or model.scale < 2:
                raise UpscalerError(
                    f"the upscaler {self.source!r} is a {model.architecture.name} model of "
                    f"scale {model.scale}, not a super-resolution model (2x or more)"
                )
            self._model = model.to(self.device).eval()

    def upscale(
        self, image: Image.Image, factor: int, progress: Callable[[float], None] | None = None
    ) -> Image.Image:
        """`image` at `factor` times its size, through the model tile by tile."""
        self.load()
        scale = int(self._model.scale)
        passes = max(1, math.ceil(math.log(factor, scale) - 1e-9))
        result, reached = image.convert("RGB"), 1.0
        for done in range(passes):
            step = min(float(scale), factor / reached)
            reached *= step

            def report(fraction: float, done: int = done) -> None:
                if progress is not None:
                    progress((done + fraction) / passes)

            result = process_tiled(result, self._run, TILE, TILE_OVERLAP, step, report, fit=True)
        return result

    def _run(self, tile: Image.Image) -> Image.Image:
        import numpy as np
        import torch

        pixels = torch.from_numpy(np.asarray(tile, dtype=np.float32) / 255.0)
        batch = pixels.permute(2, 0, 1).unsqueeze(0).to(self.device)
        with torch.inference_mode():
            out = self._model(batch).clamp(0, 1)[0].permute(1, 2, 0).cpu().numpy()
        return Image.fromarray((out * 255.0 + 0.5).astype(np.uint8))

    def _file(self) -> Path:
        if self.source == BUILTIN_UPSCALER:
            return build_tiny_upscaler(self.cache_dir / "tiny-upscaler.safetensors")
        local = Path(self.source).expanduser()
        if local.is_file():
            return local
        on_hub = hub_file(self.source)
        if on_hub is None:
            raise UpscalerError(
                f"the upscaler {self.source!r}: no such file, and not a hub file "
                "(owner/repo/file.pth)"
            )
        from huggingface_hub import hf_hub_download

        try:
            return Path(hf_hub_download(*on_hub, cache_dir=self.cache_dir))
        except Exception as exc:
            raise UpscalerError(
                f"the upscaler {self.source!r} could not be downloaded ({exc})"
            ) from exc


def build_tiny_upscaler(path: Path, scale: int = 4) -> Path:
    """Write a tiny randomly initialised SRVGGNetCompact (Real-ESRGAN's compact architecture:
    8 features, 2 convolutions) to `path` as safetensors (reused when present), for spandrel
    to load like any downloaded model. The architecture adds its residual to the nearest-
    upsampled input, so even random weights give an image-like, deterministic result."""
    path = Path(path)
    if path.is_file():
        return path
    import torch
    from safetensors.torch import save_file
    from spandrel.architectures.Compact import Compact

    generator_state = torch.random.get_rng_state()
    torch.manual_seed(_TINY_SEED)
    try:
        model = Compact(num_feat=8, num_conv=2, upscale=scale)
    finally:
        torch.random.set_rng_state(generator_state)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(partial))
    partial.replace(path)
    return path
