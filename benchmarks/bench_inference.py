"""Inference benchmark: engine overhead over a bare diffusers call, UNet calls per grid,
grid encoding time and size, peak memory.

Run: python benchmarks/bench_inference.py [--preset tiny] [--side 128] [--runs 10]
     python benchmarks/bench_inference.py --device cuda --preset sdxl [--models-dir DIR]

Uses the locally built `tiny` preset by default (CPU, offline); on a GPU, `--device cuda
--preset sd-turbo` (or sdxl) downloads the weights once into `--models-dir` and prints
seconds per grid, denoising iterations per second, peak GPU memory and the ratio to a bare
diffusers call with the same settings, in the same run.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import torch
from PIL import Image

from inference.capabilities import guidance_for, steps_for
from inference.engine import GRID_SIZE, Engine
from inference.images import compose_grid, encode_png, fit_upload
from inference.presets import get_preset, resolution
from inference.prompt import parse
from inference.seeds import grid_seeds

UPLOAD_LIMIT = 10 * 1024 * 1024
PROMPT = "a red fox in snow, cinematic lighting --no people"


def _median_ms(call, runs: int) -> float:
    call()  # warm-up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _interleaved_ms(first, second, runs: int) -> tuple[float, float]:
    """Medians of two calls timed alternately, so drift in the machine hits both alike."""
    first(), second()  # warm-up
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(runs):
        for call, out in ((first, times[0]), (second, times[1])):
            started = time.perf_counter()
            call()
            out.append((time.perf_counter() - started) * 1000)
    return statistics.median(times[0]), statistics.median(times[1])


def overhead(engine: Engine, runs: int) -> None:
    """engine.grid (compel conditioning, capability fit, callbacks) against the bare
    pipeline given the same text; --style raw so that neither adds a house style."""
    request = parse(PROMPT + " --style raw")
    width, height = resolution(engine.preset, request.aspect)
    steps = steps_for(engine.preset, request.quality)
    guidance = guidance_for(engine.preset, request)
    pipe = engine._pipe

    def bare() -> None:
        pipe(
            prompt=["a red fox in snow, cinematic lighting"] * GRID_SIZE,
            negative_prompt=["people"] * GRID_SIZE,
            width=width,
            height=height,
            num_inference_steps=steps,
            guidance_scale=guidance,
            generator=[torch.Generator("cpu").manual_seed(s) for s in grid_seeds(1)],
        )

    ours, theirs = _interleaved_ms(lambda: engine.grid(request, 1), bare, runs)
    print(f"grid of 4 at {width}x{height}, {steps} steps, guidance {guidance:.2f}:")
    print(f"  engine.grid       {ours:8.1f} ms (median of {runs}; compel conditioning)")
    print(f"  bare pipeline     {theirs:8.1f} ms")
    print(f"  overhead ratio    {ours / theirs:8.3f}  (goal <= 1.05)")
    print(f"  {ours / 1000:.2f} s/grid, {steps / (ours / 1000):.2f} it/s (a step denoises 4)")


def unet_calls(engine: Engine) -> None:
    batches: list[int] = []
    hook = engine._pipe.unet.register_forward_hook(
        lambda module, args, kwargs_or_out: batches.append(int(args[0].shape[0]))
    )
    try:
        request = parse(PROMPT)
        engine.grid(request, 1)
    finally:
        hook.remove()
    steps = steps_for(engine.preset, request.quality)
    cfg = guidance_for(engine.preset, request) > 1
    print(
        f"UNet forward calls per grid: {len(batches)} (steps {steps}), batch sizes "
        f"{sorted(set(batches))}; expected {steps} calls of {GRID_SIZE * (2 if cfg else 1)} "
        f"({'with' if cfg else 'without'} classifier-free guidance)"
    )


def encoding() -> None:
    # Photographic-like content (smooth shapes plus sensor noise), not pure noise, which no
    # real render looks like and no codec compresses.
    rng = np.random.default_rng(3)
    y, x = np.mgrid[0:1024, 0:1024]
    images = []
    for i in range(4):
        base = np.stack(
            [
                127 + 100 * np.sin(x / (40 + 9 * i) + c) * np.cos(y / (55 + 7 * i) - c)
                for c in (0.0, 1.3, 2.6)
            ],
            axis=-1,
        )
        noisy = base + rng.normal(0, 6, base.shape)
        images.append(Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)))
    grid = compose_grid(images)
    meta = {"prompt": PROMPT, "seed": "1", "model": "bench"}
    ms = _median_ms(lambda: encode_png(grid, meta), 5)
    data = encode_png(grid, meta)
    fit_ms = _median_ms(lambda: fit_upload(data, UPLOAD_LIMIT), 3)
    fitted, ext = fit_upload(data, UPLOAD_LIMIT)
    print(f"2048x2048 grid: PNG encode {ms:.0f} ms, {len(data) / 2**20:.2f} MiB (goal < 100 ms)")
    print(
        f"  upload copy: {ext}, {len(fitted) / 2**20:.2f} MiB in {fit_ms:.0f} ms "
        f"(always <= 10 MiB: {len(fitted) <= UPLOAD_LIMIT})"
    )
    worst = Image.fromarray(rng.integers(0, 255, (2048, 2048, 3), dtype=np.uint8))
    started = time.perf_counter()
    fitted, ext = fit_upload(encode_png(worst, meta), UPLOAD_LIMIT)
    took = (time.perf_counter() - started) * 1000
    print(
        f"  worst case (pure noise): {ext}, {len(fitted) / 2**20:.2f} MiB, "
        f"encode + fit {took:.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="tiny")
    parser.add_argument("--side", type=int, default=128, help="native side for the tiny preset")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--device", help="cuda, mps or cpu (default: the best there is)")
    parser.add_argument(
        "--models-dir", type=Path, help="where weights are kept (default: a temporary folder)"
    )
    args = parser.parse_args()
    preset = get_preset(args.preset)
    if preset.name == "tiny":
        preset = replace(preset, native_size=args.side)
    with tempfile.TemporaryDirectory() as scratch:
        engine = Engine(preset, args.models_dir or Path(scratch), args.device)
        started = time.perf_counter()
        engine.load()
        print(
            f"preset {preset.name} on {engine.device} ({engine.dtype}), "
            f"loaded in {time.perf_counter() - started:.1f} s"
        )
        overhead(engine, args.runs)
        unet_calls(engine)
    encoding()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (max RSS of this process): {peak:.0f} MiB")
    if torch.cuda.is_available():
        print(f"peak GPU memory: {torch.cuda.max_memory_allocated() / 2**20:.0f} MiB")
    else:
        print("no GPU here: sd-turbo / SDXL timings need a CUDA machine")


if __name__ == "__main__":
    main()
