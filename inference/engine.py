"""The diffusers engine: one loaded pipeline per worker, serving every operation.

Blocking and GPU/CPU-heavy: call it from a worker thread, never on the event loop.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
from PIL import Image, ImageOps

from inference.adapters import adapter_inputs
from inference.capabilities import check, fit, guidance_for, steps_for
from inference.conditioning import CompelText, FluxText, drift, text_of
from inference.denoise import (
    finer_start,
    predicting,
    remainder,
    stop_latents,
    stop_point,
)
from inference.image_prompts import image_prompt_strength, start_image
from inference.memory import MemoryOptions, apply_memory_options, check_dtype
from inference.outpaint import Canvas, same_ratio
from inference.presets import FLUX_FEATURES, Preset, get_preset, resolution
from inference.preview import LatentPalette, latent_preview, palette_for
from inference.prompt import GenerationRequest
from inference.references import References
from inference.seeds import grid_seeds
from inference.tiny import build_tiny_flux_pipeline, build_tiny_pipeline, build_tiny_xl_pipeline

UPSCALE_SUBTLE = 0.2  # img2img strength after the 2x resize: detail, same picture
UPSCALE_CREATIVE = 0.45  # enough to add new detail and texture
GRID_SIZE = 4
# The VAE decodes in tiles above this many pixels on a side (bounded memory for big images).
VAE_TILING_ABOVE = 1024

# A preview at most this often, and never on the first or last step: cheap, but not free.
PREVIEW_INTERVAL_S = 1.0

Progress = Callable[[float], None]
# Receives a low-resolution preview of the render so far (from the render thread).
PreviewSink = Callable[[Image.Image], None]
BUILTIN = {
    "builtin:tiny": build_tiny_pipeline,
    "builtin:tiny-xl": build_tiny_xl_pipeline,
    "builtin:tiny-flux": build_tiny_flux_pipeline,
}


class Cancelled(Exception):
    """The job was cancelled; raised from inside the denoising loop within one step."""


def pick_device(requested: str | None = None, dtype: str | None = None) -> tuple[str, torch.dtype]:
    """CUDA with fp16, else Apple MPS, else CPU with fp32 (unless a device or dtype is
    requested)."""
    device = requested or (
        "cuda"
        if torch.cuda.is_available()
        else "mps"
        if torch.backends.mps.is_available()
        else "cpu"
    )
    if dtype is not None:
        return device, getattr(torch, check_dtype(dtype))
    return device, torch.float16 if device.startswith("cuda") else torch.float32


class Engine:
    def __init__(
        self,
        preset: Preset | str,
        cache_dir: Path,
        device: str | None = None,
        memory: MemoryOptions | None = None,
    ) -> None:
        self.preset = get_preset(preset) if isinstance(preset, str) else preset
        self.cache_dir = Path(cache_dir)
        self.memory = memory or MemoryOptions()
        self.device, self.dtype = pick_device(device, self.memory.dtype)
        self._pipe: Any = None
        self._img2img: Any = None
        self._inpaint: Any = None
        self._palette: LatentPalette | None = None
        self._text: CompelText | FluxText | None = None
        self._lock = threading.Lock()

    def load(self) -> None:
        """Load the weights once (idempotent); the tiny preset is built first if needed."""
        with self._lock:
            if self._pipe is not None:
                return
            from diffusers import (
                AutoPipelineForImage2Image,
                AutoPipelineForInpainting,
                AutoPipelineForText2Image,
            )
            from diffusers.utils import logging as diffusers_logging

            diffusers_logging.disable_progress_bar()
            source = self.preset.model_id
            if source in BUILTIN:
                source = str(BUILTIN[source](self.cache_dir / source.removeprefix("builtin:")))
            pipe = AutoPipelineForText2Image.from_pretrained(source, dtype=self.dtype)
            if not self.memory.offloads(self.device):  # offload places the weights itself
                pipe = pipe.to(self.device)
            pipe.set_progress_bar_config(disable=True)
            if self.preset.lora:
                _fuse_lora(pipe, self.preset)
            apply_memory_options(pipe, self.memory, self.device)
            # The img2img and inpainting pipelines share the text-to-image weights.
            img2img = AutoPipelineForImage2Image.from_pipe(pipe)
            inpaint = AutoPipelineForInpainting.from_pipe(pipe)
            for derived in (img2img, inpaint):
                derived.set_progress_bar_config(disable=True)
            self._palette = palette_for(pipe)
            self._text = FluxText(pipe, self.device) if _is_flux(pipe) else CompelText(pipe)
            if _is_flux(pipe):  # whatever a presets file says, Flux has no negative prompt
                self.preset = replace(
                    self.preset, supports=self.preset.supports & FLUX_FEATURES, ip_adapter=None
                )
            self._pipe, self._img2img, self._inpaint = pipe, img2img, inpaint

    def grid(
        self,
        request: GenerationRequest,
        seed: int,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
        preview: PreviewSink | None = None,
        references: References | None = None,
    ) -> list[Image.Image]:
        """Four images from one batched call; image i is seeded with seed + i. With
        `references` (--sref, --cref), through the preset's IP-Adapter."""
        request = self._ready(request)
        width, height = resolution(self.preset, request.aspect)
        steps = steps_for(self.preset, request.quality)
        with (
            _tiling(self._pipe, request.tile),
            self._steps(steps, request.stop, progress, cancel, preview) as callback,
            adapter_inputs(
                self._pipe, self.preset, self.cache_dir, request, references, self.device, GRID_SIZE
            ) as adapters,
        ):
            result = self._pipe(
                **self._conditioning(request, seed),
                **adapters,
                width=width,
                height=height,
                num_inference_steps=steps,
                guidance_scale=guidance_for(self.preset, request),
                generator=self._generators(seed),
                callback_on_step_end=callback,
            )
        return list(result.images)

    def vary(
        self,
        request: GenerationRequest,
        source: Image.Image,
        seed: int,
        strength: float,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
        preview: PreviewSink | None = None,
    ) -> list[Image.Image]:
        """Four variations of `source` (img2img at `strength`): the size of the source, or,
        when the request asks for another aspect ratio (a remix), the source cropped to it."""
        request = self._ready(request)
        source = _fit_aspect(source.convert("RGB"), self.preset, request.aspect)
        images = self._img2img_grid(request, source, seed, strength, progress, cancel, preview)
        return [image.resize(source.size) for image in images]

    def from_images(
        self,
        request: GenerationRequest,
        images: list[Image.Image],
        seed: int,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
        preview: PreviewSink | None = None,
    ) -> list[Image.Image]:
        """A grid drawn from image prompts: the images, cropped to the request's size and
        averaged, are the img2img start; --iw sets how much of them is kept."""
        request = self._ready(request)
        size = resolution(self.preset, request.aspect)
        start = start_image(images, size)
        strength = image_prompt_strength(request.image_weight)
        drawn = self._img2img_grid(request, start, seed, strength, progress, cancel, preview)
        return [image.resize(size) for image in drawn]

    def _img2img_grid(
        self,
        request: GenerationRequest,
        source: Image.Image,
        seed: int,
        strength: float,
        progress: Progress | None,
        cancel: threading.Event | None,
        preview: PreviewSink | None = None,
    ) -> list[Image.Image]:
        """Four img2img renders of `source` at `strength`, image i seeded with seed + i."""
        # img2img runs only strength x steps; keep at least one real step.
        steps = max(steps_for(self.preset, request.quality), math.ceil(1 / strength))
        actual = max(1, int(steps * strength))
        with (
            _tiling(self._img2img, request.tile),
            finer_start(self._pipe.scheduler, remainder(steps, strength), seed),
            self._steps(actual, request.stop, progress, cancel, preview) as callback,
        ):
            result = self._img2img(
                **self._conditioning(request, seed),
                **self._img2img_size(source.size),
                image=source,
                strength=strength,
                num_inference_steps=steps,
                guidance_scale=guidance_for(self.preset, request),
                generator=self._generators(seed),
                callback_on_step_end=callback,
            )
        return list(result.images)

    def upscale(
        self,
        request: GenerationRequest,
        source: Image.Image,
        seed: int,
        creative: bool,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
        preview: PreviewSink | None = None,
    ) -> Image.Image:
        """The source at twice its size: resized, then redrawn lightly (subtle) or with more
        freedom (creative) by img2img so the new pixels carry detail, not blur."""
        request = self._ready(request)
        size = (_round8(source.width * 2), _round8(source.height * 2))
        start = source.convert("RGB").resize(size, Image.Resampling.LANCZOS)
        strength = UPSCALE_CREATIVE if creative else UPSCALE_SUBTLE
        steps = max(steps_for(self.preset, request.quality), math.ceil(1 / strength))
        actual = max(1, int(steps * strength))
        with (
            _tiling(self._img2img, request.tile),
            _vae_tiling(self._pipe.vae, max(size)),
            finer_start(self._pipe.scheduler, remainder(steps, strength), seed),
            self._steps(actual, 100, progress, cancel, preview) as callback,
        ):
            result = self._img2img(
                **self._conditioning(request, seed, batch=1),
                **self._img2img_size(size),
                image=start,
                strength=strength,
                num_inference_steps=steps,
                guidance_scale=guidance_for(self.preset, request),
                generator=self._generators(seed, 1),
                callback_on_step_end=callback,
            )
        return result.images[0].resize(size)

    def outpaint(
        self,
        request: GenerationRequest,
        canvas: Canvas,
        seed: int,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
        preview: PreviewSink | None = None,
    ) -> list[Image.Image]:
        """Four fillings of the canvas's masked area (zoom out, pan, make square), the kept
        area pasted back exactly so the source is never altered."""
        request = self._ready(request)
        steps = steps_for(self.preset, request.quality)
        width, height = canvas.image.size
        with (
            _vae_tiling(self._pipe.vae, max(width, height)),
            self._steps(steps, request.stop, progress, cancel, preview) as callback,
        ):
            result = self._inpaint(
                **self._conditioning(request, seed),
                image=canvas.image,
                mask_image=canvas.mask,
                width=width,
                height=height,
                strength=1.0,
                num_inference_steps=steps,
                guidance_scale=guidance_for(self.preset, request),
                generator=self._generators(seed),
                callback_on_step_end=callback,
            )
        keep = ImageOps.invert(canvas.mask)
        images = []
        for image in result.images:
            filled = image.convert("RGB").resize(canvas.image.size)
            filled.paste(canvas.image, (0, 0), keep)
            images.append(filled)
        return images

    def _ready(self, request: GenerationRequest) -> GenerationRequest:
        """The request as this model renders it: untyped values it cannot use dropped, typed
        ones refused (the bot refuses them when the job is made; this guards every other
        caller). Then load."""
        self.load()
        request = fit(self.preset, request)
        check(self.preset, request, {self.preset.name: self.preset})
        return request

    @contextlib.contextmanager
    def _steps(
        self,
        total_steps: int,
        stop: int,
        progress: Progress | None,
        cancel: threading.Event | None,
        preview: PreviewSink | None,
    ) -> Iterator[Callable[..., dict[str, Any]]]:
        """The step callback of one call; with --stop, the scheduler's predictions are
        recorded so the call ends on the finished-image prediction (inference.denoise)."""
        palette = self._palette if preview is not None else None
        if stop >= 100:
            yield _step_callback(total_steps, stop, progress, cancel, preview, palette)
            return
        with predicting(self._pipe.scheduler) as predictions:
            yield _step_callback(total_steps, stop, progress, cancel, preview, palette, predictions)

    def _generators(self, seed: int, count: int = GRID_SIZE) -> list[torch.Generator]:
        return [torch.Generator("cpu").manual_seed(s) for s in grid_seeds(seed, count)]

    def _img2img_size(self, size: tuple[int, int]) -> dict[str, int]:
        """The size img2img renders at: the start image's. SD and SDXL take it from the
        image; Flux's img2img pipeline renders at its default size (1024 px square for
        schnell) unless told, which stretched a non-square source and, at 64 px, decoded a
        picture 256 times the size."""
        if not _is_flux(self._pipe):
            return {}
        width, height = size
        return {"width": width, "height": height}

    def _conditioning(
        self, request: GenerationRequest, seed: int, batch: int = GRID_SIZE
    ) -> dict[str, Any]:
        """Prompt embeddings for the batch (inference.conditioning); --weird pushes them all one
        seeded way, and --chaos each image its own, so the images of a grid drift apart in
        content, not only in noise."""
        text = self._text
        assert text is not None
        conditioning = text.conditioning(text_of(self.preset, request), batch)
        tokenizer = self._pipe.tokenizer_2 if _is_flux(self._pipe) else self._pipe.tokenizer
        seeds = grid_seeds(seed, batch)
        return drift(conditioning, request, seed, text.encode, tokenizer, seeds)


def _is_flux(pipe: Any) -> bool:
    return type(pipe).__name__.startswith("Flux")


def _fuse_lora(pipe: Any, preset: Preset) -> None:
    """Merge the preset's LoRA into the weights at its scale, once: renders then cost what
    they cost without it, and the derived pipelines (from_pipe) share the merged weights."""
    try:
        pipe.load_lora_weights(preset.lora, adapter_name="preset")
    except Exception as exc:
        hint = (
            " (install the LoRA extra: pip install 'imaginebot[lora]')"
            if "PEFT" in str(exc)
            else ""
        )
        raise RuntimeError(
            f"preset {preset.name!r}: the LoRA {preset.lora!r} could not be loaded: {exc}{hint}"
        ) from exc
    pipe.fuse_lora(lora_scale=preset.lora_scale)
    pipe.unload_lora_weights()  # the merged weights stay; the adapter layers go


def _round8(side: float) -> int:
    return max(8, round(side / 8) * 8)


def _fit_aspect(source: Image.Image, preset: Preset, aspect: tuple[int, int]) -> Image.Image:
    if same_ratio(source.size, aspect, preset.multiple):
        return source
    return ImageOps.fit(source, resolution(preset, aspect), Image.Resampling.LANCZOS)


def _step_callback(
    total_steps: int,
    stop: int,
    progress: Progress | None,
    cancel: threading.Event | None,
    preview: PreviewSink | None = None,
    palette: LatentPalette | None = None,
    predictions: list[torch.Tensor] | None = None,
) -> Callable[..., dict[str, Any]]:
    """Progress, previews, cancellation and --stop: at `stop` % of the steps the loop is
    interrupted, and diffusers decodes the latents this returns: the finished-image
    prediction there (inference.denoise.stop_latents)."""
    last_step, position = stop_point(total_steps, stop)
    previewed: list[float] = []  # when the last preview went out (or the first step ended)

    def on_step_end(pipe: Any, step: int, timestep: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
        if cancel is not None and cancel.is_set():
            raise Cancelled()
        if step + 1 >= last_step:
            pipe._interrupt = True  # diffusers' own early exit: remaining steps are skipped
            if predictions and "latents" in kwargs:
                kwargs["latents"] = stop_latents(predictions, position)
        elif preview is not None and palette is not None and "latents" in kwargs:
            # The clock starts after the first step: a short render shows no preview at all.
            now = time.monotonic()
            if not previewed:
                previewed.append(now)
            elif now - previewed[0] >= PREVIEW_INTERVAL_S:
                previewed[0] = now
                preview(latent_preview(kwargs["latents"], palette))
        if progress is not None:
            progress(min(1.0, (step + 1) / last_step))
        return kwargs

    return on_step_end


@contextlib.contextmanager
def _tiling(pipe: Any, tile: bool) -> Iterator[None]:
    """--tile: circular padding in every convolution makes the image wrap at its edges.
    The pipeline is shared, so the padding mode is restored afterwards."""
    if not tile:
        yield
        return
    convs = [
        m
        for part in (pipe.unet, pipe.vae)
        for m in part.modules()
        if isinstance(m, torch.nn.Conv2d)
    ]
    before = [m.padding_mode for m in convs]
    for m in convs:
        m.padding_mode = "circular"
    try:
        yield
    finally:
        for m, mode in zip(convs, before, strict=True):
            m.padding_mode = mode


@contextlib.contextmanager
def _vae_tiling(vae: Any, largest_side: int) -> Iterator[None]:
    """Decode big images tile by tile (bounded memory); small ones in one pass, unless the
    VAE tiles every decode already (IMAGINEBOT_VAE_TILING): then it is left as it is."""
    if largest_side <= VAE_TILING_ABOVE or getattr(vae, "use_tiling", False):
        yield
        return
    vae.enable_tiling()
    try:
        yield
    finally:
        vae.disable_tiling()
