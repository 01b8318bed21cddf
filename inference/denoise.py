"""Where denoising starts and stops, continuously: img2img strength and --stop between steps.

A diffusers img2img call starts at a whole step (strength 0.75 and 0.6 both start at step 1
of 2 on a 2-step turbo model), and interrupting the loop stops at a whole step. Both are
made continuous here, on any scheduler, so distinct --iw, Vary, upscale and --stop values
give distinct pictures even on 1-4 step models:

- **start**: the remainder of strength x steps past the whole steps raises the start's noise
  level part of the way to the next, noisier step's: the source latents x0 become
  a*x0 + b*e (e seeded per image) so that the scheduler's own noising gives
  alpha* x0 + sigma* noise with (alpha*, sigma*) interpolated between the two steps' levels.
  The levels are read from the scheduler itself (its add_noise or scale_noise on unit
  tensors), so variance-exploding (Euler), variance-preserving (DDPM, PNDM) and flow
  matching (Flux) schedules all work.
- **stop**: at --stop s of T steps, denoising ends after ceil(s*T) steps and the decoded
  latents are the model's prediction of the finished image there (the scheduler's
  pred_original_sample, or sample - sigma * velocity for flow matching), interpolated
  between the predictions of the two steps around s*T (before the first step: the first
  prediction's flat mean colour). Lower --stop: blurrier, flatter, visibly unfinished.

Blocking (tensors): from the render thread. The patches apply to one pipeline call.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sequence
from typing import Any

import torch

from inference.seeds import grid_seeds

_START_SALT = 0x57A7


def remainder(steps: int, strength: float) -> float:
    """The part of a step img2img's whole-step start leaves out (diffusers starts after
    int(steps x strength) steps from the end)."""
    exact = steps * strength
    return 0.0 if exact >= steps else exact - int(exact)


@contextlib.contextmanager
def finer_start(scheduler: Any, fraction: float, seed: int) -> Iterator[None]:
    """During one img2img call on `scheduler`, start `fraction` of a step noisier than the
    whole step diffusers picked (0: unchanged)."""
    name = "scale_noise" if hasattr(scheduler, "scale_noise") else "add_noise"
    original = getattr(scheduler, name)
    if fraction <= 0:
        yield
        return

    def noise_at(x0: torch.Tensor, noise: torch.Tensor, timestep: Any) -> torch.Tensor:
        if name == "scale_noise":
            return original(x0, timestep, noise)
        return original(x0, noise, timestep)

    def patched(*args: Any) -> torch.Tensor:
        x0, noise, timestep = (args[0], args[2], args[1]) if name == "scale_noise" else args
        raised = _raised_start(scheduler, noise_at, x0, timestep, fraction, seed)
        return noise_at(raised, noise, timestep)

    setattr(scheduler, name, patched)
    try:
        yield
    finally:
        delattr(scheduler, name)  # the instance attribute goes; the method shows again


def _raised_start(
    scheduler: Any,
    noise_at: Any,
    x0: torch.Tensor,
    timestep: Any,
    fraction: float,
    seed: int,
) -> torch.Tensor:
    timesteps = scheduler.timesteps.to(x0.device)
    first = timestep.reshape(-1)[0].to(timesteps.dtype)
    matches = (timesteps == first).nonzero()
    index = int(matches[0]) if len(matches) else 0
    if index == 0:
        return x0  # already the noisiest step
    alpha_lo, sigma_lo = _levels(scheduler, noise_at, index, timesteps[index], x0)
    alpha_hi, sigma_hi = _levels(scheduler, noise_at, index - 1, timesteps[index - 1], x0)
    alpha = alpha_lo + fraction * (alpha_hi - alpha_lo)
    sigma = sigma_lo + fraction * (sigma_hi - sigma_lo)
    scale = alpha / alpha_lo
    spread = math.sqrt(max(sigma**2 - sigma_lo**2, 0.0)) / alpha_lo
    extra = _seeded_noise(x0, seed)
    return scale * x0 + spread * extra


def _levels(
    scheduler: Any, noise_at: Any, index: int, timestep: torch.Tensor, like: torch.Tensor
) -> tuple[float, float]:
    """(alpha, sigma) of the scheduler's noising at step `index` of its current schedule."""
    saved = getattr(scheduler, "_begin_index", None)
    one = torch.ones(1, device=like.device, dtype=torch.float32)
    zero = torch.zeros_like(one)
    t = timestep.reshape(1)
    try:
        if hasattr(scheduler, "_begin_index"):
            scheduler._begin_index = index
        alpha = float(noise_at(one, zero, t)[0])
        sigma = float(noise_at(zero, one, t)[0])
    finally:
        if hasattr(scheduler, "_begin_index"):
            scheduler._begin_index = saved
    return alpha, sigma


def _seeded_noise(like: torch.Tensor, seed: int) -> torch.Tensor:
    """Noise for each image of the batch, from the image's own seed (so an image's seed alone
    draws it again)."""
    noises = [
        torch.randn(like.shape[1:], generator=torch.Generator("cpu").manual_seed(s ^ _START_SALT))
        for s in grid_seeds(seed, like.shape[0])
    ]
    return torch.stack(noises).to(like.device, like.dtype)


@contextlib.contextmanager
def predicting(scheduler: Any) -> Iterator[list[torch.Tensor]]:
    """Record each step's prediction of the clean latents (see `stop_latents`) while one
    pipeline call runs."""
    original = scheduler.step
    seen: list[torch.Tensor] = []

    def step(
        model_output: torch.Tensor, timestep: Any, sample: torch.Tensor, *a: Any, **kw: Any
    ) -> Any:
        out = original(model_output, timestep, sample, *a, **kw)
        parts = (
            out
            if isinstance(out, tuple)
            else (out.prev_sample, getattr(out, "pred_original_sample", None))
        )
        predicted = parts[1] if len(parts) > 1 else None
        if predicted is None and hasattr(scheduler, "scale_noise"):
            # Flow matching: the model predicts the velocity from noise to the image.
            sigma = scheduler.sigmas[scheduler.step_index - 1].to(sample)
            predicted = sample - sigma * model_output
        seen.append(parts[0] if predicted is None else predicted)
        return out

    scheduler.step = step
    try:
        yield seen
    finally:
        del scheduler.step


def stop_point(total_steps: int, stop: int) -> tuple[int, float]:
    """(steps to run, position in steps) for --stop `stop` percent of `total_steps`."""
    position = total_steps * stop / 100
    return max(1, math.ceil(position)), position


def stop_latents(predictions: Sequence[torch.Tensor], position: float) -> torch.Tensor:
    """The latents to decode at `position` (in steps): the predictions of the steps around it,
    interpolated; before the first step, from the first prediction's mean colour."""
    upper = predictions[max(1, math.ceil(position)) - 1]
    low_index = math.floor(position)
    if low_index == math.ceil(position):
        return upper
    if low_index >= 1:
        lower = predictions[low_index - 1]
    else:  # flat colour: the mean over the pixels (packed Flux latents: over the tokens)
        pixels = (1,) if upper.dim() == 3 else tuple(range(2, upper.dim()))
        lower = upper.mean(dim=pixels, keepdim=True).expand_as(upper)
    weight = position - low_index
    return lower + weight * (upper - lower)
