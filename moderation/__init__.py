"""Prompt moderation: pure policy checks returning Verdicts. Imports nothing else of ours."""

from moderation.check import CATEGORIES, Policy, check_prompt
from moderation.normalize import normalize
from moderation.verdict import Verdict

__all__ = ["CATEGORIES", "Policy", "Verdict", "check_prompt", "normalize"]
