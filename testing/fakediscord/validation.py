"""Discord's message limits, checked the way Discord reports them (code 50035 and friends)."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

MAX_CONTENT = 2000
MAX_ROWS = 5
MAX_PER_ROW = 5
MAX_CUSTOM_ID = 100
MAX_LABEL = 80
MAX_EMBEDS = 10
MAX_EMBED_TOTAL = 6000


class DiscordError(Exception):
    """An error response in Discord's JSON shape."""

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        errors: dict[str, Any] | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors
        self.extra = extra or {}
        self.headers = headers or {}

    def response(self) -> web.Response:
        body: dict[str, Any] = {"message": self.message, "code": self.code, **self.extra}
        if self.errors is not None:
            body["errors"] = self.errors
        return web.Response(
            status=self.status,
            body=json.dumps(body).encode(),
            headers={**self.headers, "Content-Type": "application/json"},
        )


def invalid_form(field: str, code: str, message: str) -> DiscordError:
    errors = {field: {"_errors": [{"code": code, "message": message}]}}
    return DiscordError(400, 50035, "Invalid Form Body", errors=errors)


def validate_message(
    body: dict[str, Any], files: list[tuple[str, bytes, str]], upload_limit: int
) -> None:
    content = body.get("content")
    if content is not None and len(content) > MAX_CONTENT:
        raise invalid_form(
            "content", "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_CONTENT} or fewer in length."
        )
    total = sum(len(data) for _, data, _ in files)
    if total > upload_limit:
        raise DiscordError(413, 40005, "Request entity too large")
    _validate_embeds(body.get("embeds") or [])
    _validate_components(body.get("components") or [])


def _validate_embeds(embeds: list[dict[str, Any]]) -> None:
    if len(embeds) > MAX_EMBEDS:
        raise invalid_form("embeds", "BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length.")
    total = 0
    for embed in embeds:
        total += len(embed.get("title") or "") + len(embed.get("description") or "")
        for f in embed.get("fields") or []:
            if not f.get("name") or not f.get("value"):
                raise invalid_form("embeds.fields", "BASE_TYPE_REQUIRED", "This field is required")
            if len(f["value"]) > 1024:
                raise invalid_form(
                    "embeds.fields.value",
                    "BASE_TYPE_MAX_LENGTH",
                    "Must be 1024 or fewer in length.",
                )
            total += len(f["name"]) + len(f["value"])
    if total > MAX_EMBED_TOTAL:
        raise invalid_form(
            "embeds", "MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000"
        )


def _validate_components(rows: list[dict[str, Any]]) -> None:
    if len(rows) > MAX_ROWS:
        raise invalid_form("components", "BASE_TYPE_MAX_LENGTH", "Must be 5 or fewer in length.")
    seen: set[str] = set()
    for r, row in enumerate(rows):
        if row.get("type") != 1:
            raise invalid_form(
                f"components.{r}.type",
                "UNION_TYPE_CHOICES",
                'Value of field "type" must be one of (1,).',
            )
        buttons = row.get("components") or []
        if not 1 <= len(buttons) <= MAX_PER_ROW:
            raise invalid_form(
                f"components.{r}.components",
                "BASE_TYPE_BAD_LENGTH",
                "Must be between 1 and 5 in length.",
            )
        if any(c.get("type") == 3 for c in buttons) and len(buttons) != 1:
            raise invalid_form(
                f"components.{r}.components",
                "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                "A select menu fills a whole row",
            )
        for b, component in enumerate(buttons):
            where = f"components.{r}.components.{b}"
            custom_id = component.get("custom_id")
            if component.get("style") != 5:  # link buttons carry a url instead
                if not custom_id or len(custom_id) > MAX_CUSTOM_ID:
                    raise invalid_form(
                        f"{where}.custom_id",
                        "BASE_TYPE_BAD_LENGTH",
                        "Must be between 1 and 100 in length.",
                    )
                if custom_id in seen:
                    raise invalid_form(
                        f"{where}.custom_id",
                        "COMPONENT_CUSTOM_ID_DUPLICATED",
                        "Component custom id cannot be duplicated",
                    )
                seen.add(custom_id)
            if component.get("type") == 3:
                if not 1 <= len(component.get("options") or []) <= 25:
                    raise invalid_form(
                        f"{where}.options",
                        "BASE_TYPE_BAD_LENGTH",
                        "Must be between 1 and 25 in length.",
                    )
                continue
            if len(component.get("label") or "") > MAX_LABEL:
                raise invalid_form(
                    f"{where}.label", "BASE_TYPE_MAX_LENGTH", "Must be 80 or fewer in length."
                )
            if not component.get("label") and not component.get("emoji"):
                raise invalid_form(
                    f"{where}",
                    "BUTTON_LABEL_OR_EMOJI_REQUIRED",
                    "A button needs a label or an emoji",
                )


def validate_modal(data: dict[str, Any]) -> None:
    """A modal (interaction response type 9): title, custom_id and 1-5 rows of one text input,
    each with Discord's limits on label and length."""
    title, custom_id = data.get("title") or "", data.get("custom_id") or ""
    if not 1 <= len(title) <= 45:
        raise invalid_form("data.title", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 45.")
    if not 1 <= len(custom_id) <= MAX_CUSTOM_ID:
        raise invalid_form("data.custom_id", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100.")
    rows = data.get("components") or []
    if not 1 <= len(rows) <= MAX_ROWS:
        raise invalid_form("data.components", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 5.")
    for r, row in enumerate(rows):
        inputs = row.get("components") or []
        if row.get("type") != 1 or len(inputs) != 1 or inputs[0].get("type") != 4:
            raise invalid_form(
                f"data.components.{r}", "UNION_TYPE_CHOICES", "A row holds one text input."
            )
        field = inputs[0]
        where = f"data.components.{r}.components.0"
        if not 1 <= len(field.get("label") or "") <= 45:
            raise invalid_form(f"{where}.label", "BASE_TYPE_BAD_LENGTH", "Must be 1 to 45 long.")
        limit = field.get("max_length", 4000)
        if not 1 <= limit <= 4000 or len(field.get("value") or "") > limit:
            raise invalid_form(
                f"{where}.value", "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length."
            )
