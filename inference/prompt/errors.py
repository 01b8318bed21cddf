"""The one error type the prompt language raises."""

from __future__ import annotations


class PromptError(ValueError):
    """A prompt the user must fix: `message` is one sentence for them, `code` is stable."""

    def __init__(self, message: str, code: str, parameter: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.parameter = parameter
