"""The worker's Prometheus metrics (render time per model and per step, queue wait, jobs
ended, GPU memory); served with the process's others at /metrics (services.health)."""

from __future__ import annotations

import sys
from typing import Any

from prometheus_client import Counter, Gauge, Histogram

from inference.capabilities import steps_for
from inference.operations import kind_of
from inference.presets import Preset

# Seconds: from a tiny model's fraction of a second to a large upscale's minutes.
_SECONDS = (0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600)

RENDER_SECONDS = Histogram(
    "imaginebot_render_seconds", "Seconds a job took to render", ["model", "kind"],
    buckets=_SECONDS,
)  # fmt: skip
RENDER_STEP_SECONDS = Histogram(
    "imaginebot_render_step_seconds", "Render seconds per denoising step", ["model"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10),
)  # fmt: skip
QUEUE_WAIT_SECONDS = Histogram(
    "imaginebot_queue_wait_seconds", "Seconds a job waited before a worker took it", ["model"],
    buckets=(*_SECONDS, 1200, 1800, 3600),
)  # fmt: skip
JOBS_ENDED = Counter(
    "imaginebot_jobs_ended_total", "Jobs a worker ended, by kind and outcome", ["kind", "outcome"]
)
GPU_MEMORY_BYTES = Gauge(
    "imaginebot_gpu_memory_bytes", "GPU memory the worker's tensors hold", ["device"]
)


# The kinds whose render is denoising steps (the others' time per step means nothing).
_STEPPED = frozenset({"grid", "vary", "outpaint", "inpaint"})


def observe_render(job: Any, seconds: float, preset: Preset | None) -> None:
    """Record a finished render's time, and per step when it denoised."""
    RENDER_SECONDS.labels(job.model, job.action).observe(seconds)
    kind = kind_of(job.action)
    if preset is None or kind.engine not in _STEPPED:
        return
    steps = steps_for(preset, float(job.request.get("quality", 1.0)))
    RENDER_STEP_SECONDS.labels(job.model).observe(seconds / max(1, steps))


def update_gpu_memory() -> None:
    """Read the GPU memory in use: in a process that renders (a bot whose workers run
    elsewhere never loads torch for this), on a machine with CUDA."""
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        for n in range(torch.cuda.device_count()):
            GPU_MEMORY_BYTES.labels(f"cuda:{n}").set(torch.cuda.memory_allocated(n))
