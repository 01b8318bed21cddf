"""The Midjourney prompt language: text -> validated GenerationRequest. Pure: no I/O."""

from inference.prompt.contract import contract_json
from inference.prompt.defaults import PromptDefaults, validate_option, validate_suffix
from inference.prompt.errors import PromptError
from inference.prompt.parser import MAX_PROMPT_CHARS, parse, parse_jobs
from inference.prompt.permutations import CONFIRM_ABOVE, MAX_JOBS, count_expansions, expand
from inference.prompt.render import render_prompt
from inference.prompt.request import GenerationRequest, WeightedPrompt

__all__ = [
    "CONFIRM_ABOVE",
    "MAX_JOBS",
    "MAX_PROMPT_CHARS",
    "GenerationRequest",
    "PromptDefaults",
    "PromptError",
    "WeightedPrompt",
    "contract_json",
    "count_expansions",
    "expand",
    "parse",
    "parse_jobs",
    "render_prompt",
    "validate_option",
    "validate_suffix",
]
