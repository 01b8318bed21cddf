"""Per-user defaults (`/settings`, `/prefer suffix`, `/prefer option`) and flag-layer merging.

Order, lowest first: built-in defaults < settings < suffix < options used (`--mine`) <
flags in the prompt. Each layer overrides field by field; `--v` and `--niji` are one model
choice, so a layer that sets one clears the other from the layers below.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from inference.prompt.errors import PromptError
from inference.prompt.flags import BY_NAME, FLAGS, convert, shown
from inference.prompt.lexer import RawFlag, split_flags
from inference.prompt.permutations import Restore, has_braces, park, same

Fields = dict[str, Any]

OPTION_NAME = re.compile(r"[a-z][a-z0-9_-]{0,31}")
MAX_DEFAULT_CHARS = 400  # one /prefer suffix or option: more is abuse, not a preference
SETTABLE = frozenset(f.field for f in FLAGS)
"""Request fields a setting, suffix or option may set (every field a flag sets)."""


def flag_fields(
    raw: list[RawFlag], options: Mapping[str, Fields] | None = None, restore: Restore = same
) -> Fields:
    """Field values of one layer of flags; `options` expand `--name` (applied before the rest)."""
    own: Fields = {}
    typed_for: dict[str, str] = {}  # field -> the flag that set it, for duplicate messages
    used: list[Fields] = []
    used_names: set[str] = set()
    for flag in raw:
        spec = BY_NAME.get(flag.name)
        if spec is None:
            if options is not None and flag.name in options:
                _use_option(flag, used_names)
                used.append(options[flag.name])
                continue
            raise _unknown(flag)
        value = convert(spec, flag.typed, flag.value, restore)
        earlier = typed_for.get(spec.field)
        if earlier is not None:
            if spec.field == "lane" and BY_NAME[earlier.lower()] is not spec:
                raise PromptError(
                    f"--{earlier} and --{flag.typed} both pick the speed; use one of "
                    "--fast, --relax or --turbo.",
                    "lane_conflict",
                    "lane",
                )
            raise PromptError(
                f"{spec.label} is given twice (--{earlier} and --{flag.typed}); duplicate "
                "parameters are not allowed, keep one.",
                "duplicate",
                spec.name,
            )
        typed_for[spec.field] = flag.typed
        own[spec.field] = value
    if "version" in own and "niji" in own:
        raise PromptError(
            f"--{typed_for['version']} and --{typed_for['niji']} both pick the model; use one.",
            "model_conflict",
            "version",
        )
    if not used:
        return own
    merged: Fields = {}
    for layer in (*used, own):
        apply_layer(merged, layer)
    return merged


def _use_option(flag: RawFlag, used_names: set[str]) -> None:
    if flag.value is not None:
        raise PromptError(
            f"Your option --{flag.typed} takes no value, got {shown(flag.value)}; "
            "put text before the parameters.",
            "unexpected_value",
            flag.name,
        )
    if flag.name in used_names:
        raise PromptError(
            f"Your option --{flag.typed} is given twice; duplicate parameters are not allowed.",
            "duplicate",
            flag.name,
        )
    used_names.add(flag.name)


def _unknown(flag: RawFlag) -> PromptError:
    hint = ""
    for i in range(min(len(flag.name) - 1, 8), 0, -1):
        # A known name glued to its value (`--ar16:9`, `--s750`): say where the space goes.
        head, tail = flag.name[:i], flag.typed[i:]
        if head in BY_NAME and tail[:1] in "0123456789:.-":
            hint = f"; did you mean --{flag.typed[:i]} {tail.lstrip(':')} (with a space)?"
            break
    return PromptError(
        f"Unrecognized parameter --{flag.typed}{hint or '; check the spelling.'}",
        "unknown_flag",
        flag.name,
    )


def apply_layer(acc: Fields, layer: Fields) -> None:
    """Override `acc` with `layer`, field by field; the model choice is one field."""
    if "version" in layer:
        acc.pop("niji", None)
    if "niji" in layer:
        acc.pop("version", None)
    acc.update(layer)


def _flags_only(text: str, what: str, parameter: str) -> Fields:
    """Field values of a flags-only text (suffix, option): no text, weights or permutations."""
    size = len(" ".join(text.split()))
    if size > MAX_DEFAULT_CHARS:
        raise PromptError(
            f"{what} is {size} characters long; the limit is {MAX_DEFAULT_CHARS}.",
            "default_too_long",
            parameter,
        )
    if has_braces(text):
        raise PromptError(
            f"{what} cannot contain permutations {{ }}, got {shown(text.strip())}.",
            "flags_only",
            parameter,
        )
    parked, restore, _ = park(text)
    body, raw = split_flags(parked)
    if body.strip():
        kind = "weights" if "::" in body else "text"
        raise PromptError(
            f"{what} may hold only parameters like --ar 16:9 --s 250, not {kind} "
            f"({shown(body.strip())}).",
            "flags_only",
            parameter,
        )
    try:
        return flag_fields(raw, restore=restore)
    except PromptError as exc:
        raise PromptError(f"{what}: {exc.message}", exc.code, exc.parameter) from None


def validate_suffix(flags_text: str) -> str:
    """Check a `/prefer suffix`: flags only, each valid; returns it with whitespace tidied."""
    _flags_only(flags_text, "Your /prefer suffix", "suffix")
    return " ".join(flags_text.split())


def validate_option(name: str, flags_text: str) -> tuple[str, str]:
    """Check a `/prefer option set`; returns (name in lower case, flags with whitespace tidied)."""
    key = name.strip().lower().lstrip("-\u2014\u2013")
    if not OPTION_NAME.fullmatch(key):
        raise PromptError(
            f"option name must be a letter then up to 31 letters, digits, - or _, got "
            f"{shown(name)}.",
            "option_name",
            "option",
        )
    if key in BY_NAME:
        raise PromptError(
            f"option name --{key} is already a parameter; pick another name.",
            "option_name",
            "option",
        )
    what = f"Your option --{key}"
    if not flags_text.strip():
        raise PromptError(
            f"{what} is empty; give it parameters like --ar 16:9 --s 250.", "option_empty", "option"
        )
    _flags_only(flags_text, what, "option")
    return key, " ".join(flags_text.split())


def _settings_fields(settings: Mapping[str, Any]) -> Fields:
    from inference.prompt.render import render_field  # render imports this module

    text_parts: list[str] = []
    for key, value in settings.items():
        if key not in SETTABLE:
            raise PromptError(
                f"/settings has no setting {shown(key)}; settable: {', '.join(sorted(SETTABLE))}.",
                "setting_invalid",
                key,
            )
        if value is not None:
            text_parts.append(render_field(key, value))
    return _flags_only(" ".join(text_parts), "Your /settings", "settings")


@dataclass(frozen=True)
class PromptDefaults:
    """One user's defaults: `settings` (request field -> value), suffix and named options.

    Validated on construction (raises PromptError), so a stored value that no longer passes
    is reported to the user instead of being ignored.
    """

    settings: Mapping[str, Any] = field(default_factory=dict, hash=False)
    suffix: str = ""
    options: Mapping[str, str] = field(default_factory=dict, hash=False)
    _base: Fields = field(init=False, repr=False, compare=False, hash=False)
    _options: dict[str, Fields] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        base = _settings_fields(self.settings)
        apply_layer(base, _flags_only(self.suffix, "Your /prefer suffix", "suffix"))
        parsed: dict[str, Fields] = {}
        for name, text in self.options.items():
            key, _ = validate_option(name, text)
            parsed[key] = _flags_only(text, f"Your option --{key}", "option")
        object.__setattr__(self, "_base", base)
        object.__setattr__(self, "_options", parsed)

    def merged(self, raw: list[RawFlag], restore: Restore = same) -> Fields:
        """Field values for a prompt's (parked) flags on top of these defaults."""
        out = dict(self._base)
        apply_layer(out, flag_fields(raw, self._options, restore))
        return out


NO_DEFAULTS = PromptDefaults()
