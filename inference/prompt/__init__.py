"""The Midjourney prompt language: text -> validated GenerationRequest. Pure: no I/O."""

from inference.prompt.errors import PromptError
from inference.prompt.parser import parse
from inference.prompt.request import GenerationRequest, WeightedPrompt

__all__ = ["GenerationRequest", "PromptError", "WeightedPrompt", "parse"]
