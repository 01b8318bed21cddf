"""/describe and /shorten without Discord: jobs that answer with prompts, and the buttons that
run those prompts.

Both are queued jobs like any other (standing, queue limit, history; the worker runs the
captioner or the text encoder). /shorten's prompt is moderated before it is queued;
/describe's image is screened by the worker's image filter before it is captioned, and the
prompts it answers with are moderated before they are shown (`shown_prompts`). A button
that runs one goes through /imagine, with all of /imagine's checks.
"""

from __future__ import annotations

import asyncio

from db import Job
from inference.operations import JobAction, kind_of
from inference.presets import NO_CAPTIONER
from inference.prompt import GenerationRequest, WeightedPrompt
from inference.shorten import split_prompt
from services.children import ChildJobs
from services.errors import InvalidParameter, JobUnavailable
from services.imagine import ImagineService
from services.intake import Intake
from services.origin import Origin
from services.policy import guild_policy, moderate_batch

# How far apart the idempotency numbers of the jobs of one "Imagine all" press are: each
# prompt may make up to MAX_JOBS jobs of its own.
_PER_PROMPT = 1000


class Answers:
    def __init__(self, intake: Intake, imagine: ImagineService, children: ChildJobs) -> None:
        self.intake = intake
        self.imagine = imagine
        self.children = children

    async def describe(self, image_url: str, origin: Origin) -> Job:
        """A /describe job for the image at `image_url` (fetched under the image prompt rules)."""
        prefs = await self.intake.prefs.get(origin.user_id)
        model = self.intake.model_for(prefs, GenerationRequest((WeightedPrompt(""),)), "")
        if self.intake.presets[model].captioner == NO_CAPTIONER:
            raise InvalidParameter(
                "/describe is off on this bot: its owner can turn it on by setting "
                "IMAGINEBOT_CAPTIONER to a captioning model.",
                "describe_off",
                image_url,
            )
        request = GenerationRequest((WeightedPrompt(image_url),), image_prompts=(image_url,))
        return await self.intake.single(origin, image_url, request, JobAction.DESCRIBE, model)

    async def describe_again(self, job_id: int, origin: Origin) -> Job:
        """🔄 on a /describe answer: four new prompts for the same image (a new seed)."""
        job = await self._answered(job_id, origin, JobAction.DESCRIBE)
        request = GenerationRequest.from_json(job.request)
        return await self.intake.single(
            origin, job.prompt, request, JobAction.DESCRIBE, job.model, job.prompt_images
        )

    async def shorten(self, prompt: str, origin: Origin) -> Job:
        """A /shorten job for `prompt` (parsed and moderated like /imagine's)."""
        intake = self.intake
        await intake.check_standing(origin)
        prefs = await intake.prefs.get(origin.user_id)
        request = intake.parse_one(prompt, prefs)
        if not split_prompt(prompt)[0]:
            raise InvalidParameter("This prompt has no words to shorten.", "shorten_empty", prompt)
        model = intake.model_for(prefs, request, prompt)
        await intake.check_allowed([request], prompt, origin)
        return await intake.single(origin, prompt, request, JobAction.SHORTEN, model, [])

    async def run(self, job_id: int, number: int | None, origin: Origin) -> list[Job]:
        """A prompt button on an answer: prompt `number` (1-based) through /imagine, or all
        of them (None)."""
        job = await self._answered(job_id, origin)
        prompts = await self.shown_prompts(job)
        if number is not None:
            if not 1 <= number <= len(prompts):
                raise JobUnavailable(f"That answer has no prompt #{number}.")
            prompts = [prompts[number - 1]]
        jobs: list[Job] = []
        for n, prompt in enumerate(prompts):
            jobs += await self.imagine.imagine(prompt, origin, numbered_from=n * _PER_PROMPT)
        return jobs

    async def shown_prompts(self, job: Job) -> list[str]:
        """The prompts of an answer that its server's policy allows (the others are never
        shown, nor run)."""
        answer = job.answer or {}
        prompts = list(answer.get("prompts") or answer.get("options") or [])
        intake = self.intake
        policy = await guild_policy(intake.terms, job.guild_id, intake.policy)

        verdicts = await asyncio.to_thread(moderate_batch, prompts, policy, intake.semantic)
        return [p for p, verdict in zip(prompts, verdicts, strict=True) if verdict.allowed]

    async def _answered(self, job_id: int, origin: Origin, action: JobAction | None = None) -> Job:
        job = await self.children.pressable(job_id, origin)
        if not kind_of(job.action).answers or (action is not None and job.action != action):
            raise JobUnavailable("That button does not belong to this job.")
        return job
