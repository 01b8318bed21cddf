"""Super-resolution benchmark: seconds per output megapixel and peak memory, tiled (what the
upscale buttons run, inference.upscaler) against the bare model on the whole image.

Run: python benchmarks/bench_upscale.py [--arch compact|esrgan|tiny] [--sizes 1,4,16]

The model has the full size of a real architecture with random weights (no download): the
arithmetic is that of the real model. `compact` is Real-ESRGAN's SRVGGNetCompact (64
features, 32 convolutions: realesr-general-x4v3), `esrgan` the RRDBNet of RealESRGAN_x4plus
(23 blocks; slow on a CPU). Every measurement runs in its own process, so peak memory is that
process's peak resident size above what it held with the model loaded.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# A grid image of SD (512 px) upscaled 2x and 4x, then 4x to 1, 4 and 16 output megapixels.
GRID_CASES = [(512, 2), (512, 4)]
SIDE_FOR_MP = {1: 256, 4: 512, 16: 1024}


def _write_model(arch: str, folder: Path) -> Path:
    import torch
    from safetensors.torch import save_file

    torch.manual_seed(0)
    if arch == "tiny":
        from inference.upscaler import build_tiny_upscaler

        return build_tiny_upscaler(folder / "tiny.safetensors")
    if arch == "compact":
        from spandrel.architectures.Compact import Compact

        model = Compact(num_feat=64, num_conv=32, upscale=4)
    else:
        from spandrel.architectures.ESRGAN import ESRGAN

        model = ESRGAN(num_filters=64, num_blocks=23, scale=4)
    path = folder / f"{arch}.safetensors"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path))
    return path


def _peak_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _measure(path: str, side: int, factor: int, tiled: bool, out: multiprocessing.Queue) -> None:
    """In a fresh process: load, warm up, then one timed upscale; (seconds, peak MiB)."""
    import numpy as np
    from PIL import Image

    from inference.upscaler import Upscaler

    upscaler = Upscaler(path, Path(path).parent)
    upscaler.load()
    rng = np.random.default_rng(0)
    coarse = rng.integers(0, 256, (side // 8, side // 8, 3), dtype=np.uint8)
    image = Image.fromarray(coarse).resize((side, side), Image.Resampling.BICUBIC)
    upscaler.upscale(image.crop((0, 0, 64, 64)), factor)  # warm-up, small
    loaded = _peak_kib()
    started = time.perf_counter()
    if tiled:
        upscaler.upscale(image, factor)
    else:  # the bare model on the whole image, resized to the factor like the tiled path
        result = upscaler._run(image)
        result.resize((side * factor, side * factor), Image.Resampling.LANCZOS)
    out.put((time.perf_counter() - started, max(0, _peak_kib() - loaded) / 1024))


def _run(path: Path, side: int, factor: int, tiled: bool) -> tuple[float, float]:
    context = multiprocessing.get_context("spawn")
    queue: multiprocessing.Queue = context.Queue()
    process = context.Process(target=_measure, args=(str(path), side, factor, tiled, queue))
    process.start()
    result = queue.get()
    process.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", choices=("compact", "esrgan", "tiny"), default="compact")
    parser.add_argument("--sizes", default="1,4,16", help="4x output megapixels to measure")
    args = parser.parse_args()
    cases = [*GRID_CASES, *((SIDE_FOR_MP[int(mp)], 4) for mp in args.sizes.split(","))]
    with tempfile.TemporaryDirectory() as folder:
        path = _write_model(args.arch, Path(folder))
        print(f"model: {args.arch} (random weights, full size), CPU")
        for side, factor in dict.fromkeys(cases):
            megapixels = (side * factor) ** 2 / 1e6
            seconds, peak = _run(path, side, factor, tiled=True)
            bare_seconds, bare_peak = _run(path, side, factor, tiled=False)
            print(
                f"{side}x{side} -> {factor}x ({megapixels:.1f} MP): tiled {seconds:.2f} s "
                f"({seconds / megapixels:.2f} s/MP), peak +{peak:.0f} MiB (the result itself "
                f"{megapixels * 3 / 1.048576:.0f} MiB); bare model "
                f"{bare_seconds:.2f} s, peak +{bare_peak:.0f} MiB; time ratio "
                f"{seconds / bare_seconds:.2f}x, memory ratio {peak / max(bare_peak, 1):.2f}x"
            )


if __name__ == "__main__":
    main()
