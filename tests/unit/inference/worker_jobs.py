"""Jobs for worker tests: the tiny model, a job from a prompt, one job run to its end."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from db import Job, NewJob
from inference.engines import EnginePool
from inference.operations import JobAction
from inference.presets import PRESETS
from inference.prompt import parse
from inference.worker import Worker
from testing.jobs import JobTables

_keys = iter(range(1_000_000))


def tiny_pool(models_dir: Path, **changes: Any) -> EnginePool:
    return EnginePool({"tiny": replace(PRESETS["tiny"], **changes)}, ["tiny"], models_dir)


def new_job(prompt: str, action: JobAction = JobAction.IMAGINE, **kw: Any) -> NewJob:
    request = parse(prompt)
    values: dict[str, Any] = dict(
        idempotency_key=f"{next(_keys)}:0",
        user_id=1,
        channel_id=2,
        guild_id=3,
        prompt=prompt,
        request=request.to_json(),
        model="tiny",
        action=action,
        seed=request.seed,
    )
    values.update(kw)
    return NewJob(**values)


async def run_one(worker: Worker, repo: JobTables, new: NewJob) -> Job | None:
    """Create, claim and render one job; the job as it ended."""
    job, _ = await repo.member.create(new)
    claimed = await repo.worker.claim_next(worker.worker_id)
    assert claimed is not None and claimed.id == job.id
    await worker.process(claimed)
    return await repo.member.get(job.id)
