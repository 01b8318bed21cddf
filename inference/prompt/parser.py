"""Prompt text -> validated GenerationRequest(s): permutations, flags, images, concepts."""

from __future__ import annotations

from inference.prompt.body import concepts, split_images
from inference.prompt.defaults import NO_DEFAULTS, PromptDefaults
from inference.prompt.errors import PromptError
from inference.prompt.flags import BY_NAME
from inference.prompt.lexer import RawFlag, split_flags
from inference.prompt.permutations import Restore, expand_parked, park
from inference.prompt.request import GenerationRequest

MAX_PROMPT_CHARS = 6000
"""Longest prompt accepted, in characters: Discord's own limit for a slash-command option."""
MAX_JOBS_CHARS = 60_000
"""Most characters all permutation jobs of one prompt may add up to (40 jobs of 1500): keeps
parsing any prompt under 10 ms however its braces multiply the text."""


def _check_length(text: str) -> None:
    if len(text) > MAX_PROMPT_CHARS:
        raise PromptError(
            f"The prompt is {len(text)} characters long; the limit is {MAX_PROMPT_CHARS}.",
            "too_long",
            "prompt",
        )


def parse_parked(
    parked: str, restore: Restore, defaults: PromptDefaults | None = None
) -> GenerationRequest:
    """Parse one job's parked text (permutations expanded, escapes parked: see `park`)."""
    body, raw = split_flags(parked)
    values = (defaults or NO_DEFAULTS).merged(raw, restore)
    images, rest = split_images(body, restore)
    prompts = concepts(rest, restore)
    if not prompts:
        if len(images) == 1:
            raise PromptError(
                "One image prompt needs some text or a second image with it.",
                "image_alone",
                "image",
            )
        if not images:
            raise PromptError(
                "The prompt is empty: describe what you want to see before the parameters.",
                "empty",
                "prompt",
            )
    typed = typed_fields(raw)
    _check_companions(values, typed, images)
    if images and values.get("image_weight") is None:
        values["image_weight"] = 1.0
    return GenerationRequest(prompts=prompts, image_prompts=images, typed=typed, **values)


def typed_fields(raw: list[RawFlag]) -> frozenset[str]:
    """The request fields set by flags typed in the prompt (options are /prefer: not typed)."""
    return frozenset(BY_NAME[flag.name].field for flag in raw if flag.name in BY_NAME)


# A flag that only means something next to another: (field, its flag, companion field, message).
_COMPANIONS = (
    ("style_weight", "sw", "sref", "--sw sets how strongly a style reference is followed: add "
     "--sref with an image link, or remove --sw."),
    ("character_weight", "cw", "cref", "--cw sets how much of a character reference is kept: add "
     "--cref with an image link, or remove --cw."),
)  # fmt: skip


def _check_companions(
    values: dict[str, object], typed: frozenset[str], images: tuple[str, ...]
) -> None:
    """Refuse a typed flag that would do nothing without its companion (--iw without an image
    prompt, --sw without --sref, --cw without --cref); from /settings such a value just waits
    for its companion."""
    if "image_weight" in typed and not images:
        raise PromptError(
            "--iw sets how much an image prompt counts, but this prompt has no image: put "
            "an image link at the start of the prompt, or remove --iw.",
            "iw_alone",
            "iw",
        )
    for name, flag, companion, message in _COMPANIONS:
        if name in typed and not values.get(companion):
            raise PromptError(message, f"{flag}_alone", flag)


def parse_jobs(text: str, defaults: PromptDefaults | None = None) -> list[GenerationRequest]:
    """One request per permutation job (at most 40), all validated; `--repeat` stays a field."""
    _check_length(text)
    if not text.strip():
        raise PromptError("The prompt is empty: describe what you want to see.", "empty", "prompt")
    parked, restore, _ = park(text)
    jobs = expand_parked(parked)
    if len(jobs) > 1:
        total = sum(map(len, jobs))
        if total > MAX_JOBS_CHARS:
            raise PromptError(
                f"This prompt's {len(jobs)} permutation jobs add up to {total} characters; "
                f"the limit is {MAX_JOBS_CHARS}, so shorten the prompt or use fewer options.",
                "jobs_too_long",
                "permutation",
            )
    return [parse_parked(job, restore, defaults) for job in jobs]


def parse(text: str, defaults: PromptDefaults | None = None) -> GenerationRequest:
    """Parse a prompt that makes one job; one with several permutations raises multiple_jobs."""
    jobs = parse_jobs(text, defaults)
    if len(jobs) > 1:
        raise PromptError(
            f"This prompt's permutations make {len(jobs)} jobs; send them with /imagine "
            "(parse_jobs), one request per job.",
            "multiple_jobs",
            "permutation",
        )
    return jobs[0]
