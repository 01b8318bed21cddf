"""The `imaginebot parse` JSON contract (MIDJOURNEY.md section 1): keep it stable."""

from __future__ import annotations

from typing import Any

from inference.prompt.errors import PromptError
from inference.prompt.parser import parse_jobs
from inference.prompt.request import GenerationRequest

CONTRACT_FIELDS = (
    "prompts", "negative", "aspect", "seed", "chaos", "stylize", "repeat", "stop", "quality",
    "tile", "image_prompts", "image_weight",
)  # fmt: skip


def job_json(request: GenerationRequest) -> dict[str, Any]:
    """One job's contract object: exactly the documented fields, in the documented order."""
    full = request.to_json()
    return {name: full[name] for name in CONTRACT_FIELDS}


def contract_json(text: str) -> tuple[dict[str, Any], int]:
    """(object to print, exit code): the first job's fields, expansions and jobs; or the error."""
    try:
        jobs = parse_jobs(text)
    except PromptError as exc:
        return {"error": exc.message, "code": exc.code}, 1
    out = job_json(jobs[0])
    out["expansions"] = len(jobs)
    out["jobs"] = [job_json(job) for job in jobs]
    return out, 0
