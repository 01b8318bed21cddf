"""The custom_ids of every button, menu and form the bot posts, from one registry.

A custom_id is `ib:<prefix>:<field>:<field>...`: the prefix names what it is and the fields
carry all the state a click needs (a job id, an image index...), so components keep working
after a restart. Each prefix is registered once, with typed fields that never contain `:`;
registering a prefix twice, or a template that another one's ids would match, raises at
import. So every custom_id the bot posts is claimed by exactly one template, and the router
(bot.router) hands it to exactly one handler.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any

ROOT = "ib"
MAX_CHARS = 100  # Discord's limit for a custom_id
_PREFIX = re.compile(r"[a-z][a-z0-9]{0,3}")
# Matches every custom_id of ours, whatever its kind (the one DynamicItem's template).
ANY_TEMPLATE = rf"{ROOT}:{_PREFIX.pattern}(?::[-a-z0-9]+)*"


class CustomIdClash(ValueError):
    """Two registrations whose custom_ids could be confused."""


@dataclass(frozen=True)
class Field:
    """One part of a custom_id: its name, the text it may hold, its widest value."""

    name: str
    pattern: str
    narrowest: str
    widest: str
    convert: type = str

    def value(self, text: str) -> Any:
        if self.convert is bool:
            return text == "1"
        return self.convert(text)

    def text(self, value: Any) -> str:
        text = str(int(value)) if self.convert is bool else str(value)
        if not re.fullmatch(self.pattern, text):
            raise ValueError(f"{text!r} is not a valid {self.name}")
        return text


def snowflake(name: str) -> Field:
    """A Discord id or one of ours (a job, an appeal, an audit record)."""
    return Field(name, r"[0-9]{1,20}", "0", "9" * 20, int)


def number(name: str) -> Field:
    """A signed page number."""
    return Field(name, r"-?[0-9]{1,9}", "0", "-" + "9" * 9, int)


def digit(name: str, highest: int) -> Field:
    return Field(name, f"[0-{highest}]", "0", str(highest), int)


def flag(name: str) -> Field:
    return Field(name, "[01]", "0", "1", bool)


def choice(name: str, *options: str) -> Field:
    for option in options:
        if not re.fullmatch(r"[a-z0-9]+", option):
            raise ValueError(f"choice {option!r} must be lowercase letters and digits")
    return Field(name, "|".join(options), min(options, key=len), max(options, key=len))


@dataclass(frozen=True)
class CustomId:
    """The custom_ids of one kind of component: `ib:<prefix>:` and its fields; the last
    `optional` of them may be left out."""

    prefix: str
    fields: tuple[Field, ...]
    optional: int = 0

    @cached_property
    def template(self) -> str:
        required = len(self.fields) - self.optional
        parts = [f":(?P<{f.name}>{f.pattern})" for f in self.fields]
        tail = "".join(f"(?:{part}" for part in parts[required:]) + ")?" * self.optional
        return f"{ROOT}:{self.prefix}" + "".join(parts[:required]) + tail

    @cached_property
    def _pattern(self) -> re.Pattern[str]:
        return re.compile(self.template)

    def make(self, *values: Any) -> str:
        """The custom_id for these field values (trailing optional ones may be None)."""
        if len(values) != len(self.fields):
            raise TypeError(f"{self.prefix}: {len(self.fields)} values expected")
        texts = [
            field.text(value)
            for field, value in zip(self.fields, values, strict=True)
            if value is not None
        ]
        return ":".join([ROOT, self.prefix, *texts])

    def parse(self, custom_id: str) -> dict[str, Any] | None:
        """The field values of a custom_id of this kind, or None if it is not one."""
        match = self._pattern.fullmatch(custom_id)
        if match is None:
            return None
        return {
            field.name: None if match[field.name] is None else field.value(match[field.name])
            for field in self.fields
        }

    def examples(self) -> list[str]:
        """Its shortest and its longest custom_ids."""
        required = len(self.fields) - self.optional
        shortest = [f.narrowest for f in self.fields[:required]]
        longest = [f.widest for f in self.fields]
        return [":".join([ROOT, self.prefix, *parts]) for parts in (shortest, longest)]


class Registry:
    def __init__(self) -> None:
        self._by_prefix: dict[str, CustomId] = {}

    def register(self, prefix: str, *fields: Field, optional: int = 0) -> CustomId:
        """A new kind of custom_id; CustomIdClash if it could be confused with one already
        registered (or is too long for Discord)."""
        if not _PREFIX.fullmatch(prefix):
            raise CustomIdClash(f"prefix {prefix!r}: 1-4 lowercase letters or digits")
        if prefix in self._by_prefix:
            raise CustomIdClash(f"prefix {prefix!r} is registered twice")
        spec = CustomId(prefix, fields, optional)
        longest = spec.examples()[1]
        if len(longest) > MAX_CHARS:
            raise CustomIdClash(f"{longest!r} is longer than Discord's {MAX_CHARS} characters")
        for other in self._by_prefix.values():
            if any(other.parse(x) is not None for x in spec.examples()) or any(
                spec.parse(x) is not None for x in other.examples()
            ):
                raise CustomIdClash(f"{spec.template!r} and {other.template!r} overlap")
        self._by_prefix[prefix] = spec
        return spec

    def claims(self, custom_id: str) -> list[CustomId]:
        """Every registered kind whose template matches `custom_id` (one, for ours)."""
        return [spec for spec in self._by_prefix.values() if spec.parse(custom_id) is not None]

    def kind_of(self, custom_id: str) -> CustomId | None:
        """The kind `custom_id` is, found by its prefix (no two kinds share one, and fields
        hold no `:`, so no other kind can claim it); None if it is none of ours."""
        root, _, rest = custom_id.partition(":")
        kind = self._by_prefix.get(rest.partition(":")[0]) if root == ROOT else None
        return kind if kind is not None and kind.parse(custom_id) is not None else None

    def __iter__(self) -> Iterator[CustomId]:
        return iter(list(self._by_prefix.values()))

    def get(self, prefix: str) -> CustomId | None:
        return self._by_prefix.get(prefix)


REGISTRY = Registry()
register = REGISTRY.register
