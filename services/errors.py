"""Errors a member can act on: each carries what they see (title, one-sentence description,
what to do). Raised by the services; the bot and the web show them."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from services.strikes import BlockStrike


class UserFacingError(Exception):
    """Shown ephemerally as an embed; `title` is the embed title, str(self) its description."""

    title = "Something went wrong"

    def __init__(self, description: str, *, hint: str = "") -> None:
        super().__init__(description)
        self.description = description
        self.hint = hint


class InvalidParameter(UserFacingError):
    title = "Invalid parameter"

    def __init__(self, description: str, code: str, prompt: str) -> None:
        super().__init__(description, hint="Fix it and run /imagine again.")
        self.code = code
        self.prompt = prompt


class BannedPrompt(UserFacingError):
    title = "Banned prompt detected"

    def __init__(
        self,
        description: str,
        category: str | None,
        matched: tuple[str, ...],
        audit_id: int,
        appealable: bool,
        strike: BlockStrike | None = None,
    ) -> None:
        hint = "Rephrase your prompt and try again."
        if appealable:
            hint += " If you think this is a mistake, press Appeal and a moderator will review it."
        if strike is not None:
            hint = f"{strike.message_for_user()} {hint}"
        super().__init__(description, hint=hint)
        self.strike = strike
        self.category = category
        self.matched = matched
        self.audit_id = audit_id
        self.appealable = appealable


class UserBanned(UserFacingError):
    title = "You are banned from generating here"

    def __init__(self, reason: str) -> None:
        super().__init__(
            f"A moderator banned you from using this bot: {reason}",
            hint="Ask the server's moderators if you think this is a mistake.",
        )


class QueueFull(UserFacingError):
    title = "Queue full"

    def __init__(self, queued: int, running: int, limit: int) -> None:
        super().__init__(
            f"You already have {queued} jobs waiting (the limit is {limit}) and {running} running.",
            hint="Wait for some to start or finish, then try again.",
        )


class NotYourJob(UserFacingError):
    title = "Not your job"

    def __init__(self) -> None:
        super().__init__(
            "Only the person who started this job (or a moderator) can use its buttons.",
            hint="Use /imagine to make your own.",
        )


class JobUnavailable(UserFacingError):
    title = "Job unavailable"


class NotModerator(UserFacingError):
    title = "Moderators only"

    def __init__(self) -> None:
        super().__init__(
            "This command needs the Manage Messages permission or a moderator role.",
            hint="Ask a server admin to configure moderator roles.",
        )


class DirectMessagesOff(UserFacingError):
    title = "Not available in DMs"

    def __init__(self) -> None:
        super().__init__(
            "This bot's owner has turned off generating in direct messages.",
            hint="Use /imagine in a server channel where the bot is.",
        )


class InvalidZoom(UserFacingError):
    title = "Invalid zoom"


class AppealRefused(UserFacingError):
    title = "Appeal not sent"
