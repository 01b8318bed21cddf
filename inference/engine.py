"""The diffusers engine: one loaded pipeline per worker, serving every operation.

Blocking and GPU/CPU-heavy: call it from a worker thread, never on the event loop.
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
from PIL import Image, ImageOps

from inference.adapters import adapter_inputs, blend_inputs
from inference.capabilities import check, fit, guidance_for, steps_for
from inference.conditioning import CompelText, FluxText, drift, text_of
from inference.denoise import (
    finer_start,
    predicting,
    remainder,
)
from inference.describe import Captioner
from inference.hooks import (
    PreviewSink,
    Progress,
    circular_padding,
    step_callback,
    vae_tiling,
)
from inference.image_prompts import image_prompt_strength, start_image
from inference.memory import MemoryOptions, apply_memory_options, check_dtype
from inference.outpaint import Canvas, same_ratio
from inference.presets import FLUX_FEATURES, Preset, get_preset, resolution
from inference.preview import LatentPalette, palette_for
from inference.prompt import GenerationRequest
from inference.references import References
from inference.seeds import grid_seeds
from inference.shorten import Shortened, shorten, split_prompt, word_weights
from inference.tiles import plan, process_tiled
from inference.tiny import build_tiny_flux_pipeline, build_tiny_pipeline, build_tiny_xl_pipeline
from inference.upscaler import Upscaler

# Upscale (Creative): the img2img strength of the redraw after super-resolution (enough
# for new detail and texture, the same picture), at least this many real steps a tile, and
# the share of the progress bar the super-resolution pass takes.
UPSCALE_CREATIVE = 0.4
CREATIVE_STEPS = 4
CREATIVE_SR_SHARE = 0.2
GRID_SIZE = 4
BUILTIN = {
    "builtin:tiny": build_tiny_pipeline,
    "builtin:tiny-xl": build_tiny_xl_pipeline,
    "builtin:tiny-flux": build_tiny_flux_pipeline,
}


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
        self._upscaler: Upscaler | None = None
        self._captioner: Captioner | None = None
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
            pinned = {"revision": self.preset.revision, "variant": self.preset.variant}
            pipe = AutoPipelineForText2Image.from_pretrained(
                source, dtype=self.dtype, **{k: v for k, v in pinned.items() if v}
            )
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
        adapters = adapter_inputs(
            self._pipe, self.preset, self.cache_dir, request, references, self.device, GRID_SIZE
        )
        return self._text_grid(request, seed, adapters, progress, cancel, preview)

    def blend(
        self,
        request: GenerationRequest,
        images: list[Image.Image],
        seed: int,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
        preview: PreviewSink | None = None,
    ) -> list[Image.Image]:
        """/blend: four images from the images' embeddings through the preset's IP-Adapter,
        mixed with the request's blend weights (inference.adapters.blend_inputs)."""
        request = self._ready(request)
        adapters = blend_inputs(
            self._pipe, self.preset, self.cache_dir, request, images, self.device, GRID_SIZE
        )
        return self._text_grid(request, seed, adapters, progress, cancel, preview)

    def _text_grid(
        self,
        request: GenerationRequest,
        seed: int,
        adapters: contextlib.AbstractContextManager[dict[str, Any]],
        progress: Progress | None,
        cancel: threading.Event | None,
        preview: PreviewSink | None,
    ) -> list[Image.Image]:
        width, height = resolution(self.preset, request.aspect)
        steps = steps_for(self.preset, request.quality)
        with (
            circular_padding(self._pipe, request.tile),
            self._steps(steps, request.stop, progress, cancel, preview) as callback,
            adapters as extra,
        ):
            result = self._pipe(
                **self._conditioning(request, seed),
                **extra,
                width=width,
                height=height,
                num_inference_steps=steps,
                guidance_scale=guidance_for(self.preset, request),
                generator=self._generators(seed),
                callback_on_step_end=callback,
            )
        return list(result.images)

    def describe(self, image: Image.Image, seed: int) -> list[str]:
        """/describe: four prompts for the image, from the preset's captioning model."""
        with self._lock:
            if self._captioner is None:
                self._captioner = Captioner(self.preset.captioner, self.cache_dir, self.device)
        return self._captioner.describe(image, seed)

    def shorten(self, prompt: str) -> Shortened:
        """/shorten: the prompt's important words and shorter prompts, weighed with the
        model's own first text encoder (no denoising)."""
        self.load()
        words, _ = split_prompt(prompt)
        weights = word_weights(self._pipe.text_encoder, self._pipe.tokenizer, words)
        return shorten(prompt, weights)

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
            circular_padding(self._img2img, request.tile),
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
        factor: int = 2,
        creative: bool = False,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
        preview: PreviewSink | None = None,
    ) -> Image.Image:
        """The source at `factor` times its size through the preset's super-resolution model
        (Subtle, 4x); Creative then redraws it tile by tile with the job's prompt (img2img at
        CREATIVE_STRENGTH, at least CREATIVE_STEPS real steps a tile), so new detail appears
        while memory stays that of one native-size tile at any output size."""
        sr_share = CREATIVE_SR_SHARE if creative else 1.0
        enlarged = self.upscaler.upscale(source, factor, _share(progress, 0.0, sr_share))
        if not creative:
            return enlarged
        request = self._ready(request)
        return self._refine(request, enlarged, seed, _share(progress, sr_share, 1.0), cancel)

    @property
    def upscaler(self) -> Upscaler:
        """The preset's super-resolution model (loaded on first use)."""
        with self._lock:
            if self._upscaler is None:
                self._upscaler = Upscaler(self.preset.upscaler, self.cache_dir, self.device)
            return self._upscaler

    def _refine(
        self,
        request: GenerationRequest,
        image: Image.Image,
        seed: int,
        progress: Progress | None,
        cancel: threading.Event | None,
    ) -> Image.Image:
        """Creative's redraw: img2img over tiles of the preset's native size, overlapping by
        an eighth of a tile and blended (inference.tiles); tile n is seeded with seed + n."""
        side = self.preset.native_size
        overlap = _round8(side / 8)
        strength = UPSCALE_CREATIVE
        actual = max(CREATIVE_STEPS, round(steps_for(self.preset, request.quality) * strength))
        steps = math.ceil(actual / strength)
        sized = image.resize((_round8(image.width), _round8(image.height)))
        count = len(plan(sized.size, side, overlap))
        done = [0]

        def redraw(piece: Image.Image) -> Image.Image:
            n = done[0]
            tile_progress = _share(progress, n / count, (n + 1) / count)
            with (
                finer_start(self._pipe.scheduler, remainder(steps, strength), seed + n),
                self._steps(actual, 100, tile_progress, cancel, None) as callback,
            ):
                result = self._img2img(
                    **self._conditioning(request, seed, batch=1),
                    **self._img2img_size(piece.size),
                    image=piece,
                    strength=strength,
                    num_inference_steps=steps,
                    guidance_scale=guidance_for(self.preset, request),
                    generator=self._generators(seed + n, 1),
                    callback_on_step_end=callback,
                )
            done[0] += 1
            return result.images[0]

        return process_tiled(sized, redraw, side, overlap).resize(image.size)

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
            vae_tiling(self._pipe.vae, max(width, height)),
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
            yield step_callback(total_steps, stop, progress, cancel, preview, palette)
            return
        with predicting(self._pipe.scheduler) as predictions:
            yield step_callback(total_steps, stop, progress, cancel, preview, palette, predictions)

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


def _share(progress: Progress | None, start: float, end: float) -> Progress | None:
    """A progress callback reporting 0..1 as `start`..`end` of the job's progress."""
    if progress is None:
        return None
    report = progress
    return lambda fraction: report(start + (end - start) * fraction)


def _round8(side: float) -> int:
    return max(8, round(side / 8) * 8)


def _fit_aspect(source: Image.Image, preset: Preset, aspect: tuple[int, int]) -> Image.Image:
    if same_ratio(source.size, aspect, preset.multiple):
        return source
    return ImageOps.fit(source, resolution(preset, aspect), Image.Resampling.LANCZOS)
