"""What each model preset honours, and the one check every request passes against it.

The rule: every flag the parser accepts either changes the picture on a preset, or a job
that types it is refused here (before moderation and the queue) with a sentence naming the
flag and the models that do support it. Values that come from /settings or /prefer rather
than the prompt are not refused: `fit` drops (or, for the aspect ratio, clamps) what the
preset cannot use. docs/prompt-language.md shows `markdown_table()` of the built-in presets.

Pure: no torch, no I/O.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from inference.presets import Preset
from inference.prompt import GenerationRequest
from inference.prompt.flags import QUALITIES


class Unsupported(ValueError):
    """A typed flag the chosen model cannot honour, said in one sentence a member can act on."""

    def __init__(self, message: str, flag: str, code: str = "unsupported_by_model") -> None:
        super().__init__(message)
        self.message = message
        self.flag = flag
        self.code = code


def steps_for(preset: Preset, quality: float) -> int:
    """--quality scales the preset's steps (.25, .5, 1, 2): compute, not resolution."""
    return max(1, round(preset.default_steps * quality))


def guidance_for(preset: Preset, request: GenerationRequest) -> float:
    """--stylize moves guidance around the preset's own: 0 -> 8/9 of it, 100 (default) -> it,
    1000 -> twice it. A guidance-distilled preset (0.0) renders without guidance, unless the
    job has a negative prompt: then at the preset's negative_guidance, so it acts."""
    if preset.guidance_scale > 0:
        return preset.guidance_scale * (1 + (request.stylize - 100) / 900)
    negative = bool(request.negative) or any(p.weight < 0 for p in request.prompts)
    return preset.negative_guidance if negative and "negative" in preset.supports else 0.0


@dataclass(frozen=True)
class Rendering:
    """How a job is rendered on its preset, as its Details show it."""

    model: str
    steps: int
    guidance: float


def rendering(preset: Preset, request: GenerationRequest) -> Rendering:
    """The steps and guidance a grid of `request` renders with on `preset`."""
    fitted = fit(preset, request)
    return Rendering(preset.name, steps_for(preset, fitted.quality), guidance_for(preset, fitted))


def qualities(preset: Preset) -> list[float]:
    """The --quality values that render differently on `preset`: where two give the same step
    count (a 2-step model has no quarter step) only the one nearer 1 is offered."""
    by_steps: dict[int, float] = {}
    for value in sorted(map(float, QUALITIES), key=lambda q: abs(q - 1)):
        by_steps.setdefault(steps_for(preset, value), value)
    return sorted(by_steps.values())


def _quality_text(value: float) -> str:
    return format(Decimal(str(value)).normalize(), "f").removeprefix("0")


def _within_aspect(preset: Preset, aspect: tuple[int, int]) -> bool:
    w, h = aspect
    return max(w, h) <= preset.max_aspect * min(w, h)


def _aspect_range(preset: Preset) -> str:
    ratio = _quality_text(preset.max_aspect)
    return f"1:{ratio} to {ratio}:1"


def _clamped_aspect(preset: Preset, aspect: tuple[int, int]) -> tuple[int, int]:
    """The nearest ratio within the preset's range, keeping the orientation."""
    if _within_aspect(preset, aspect):
        return aspect
    wide, tall = Decimal(str(preset.max_aspect)).as_integer_ratio()
    return (wide, tall) if aspect[0] > aspect[1] else (tall, wide)


def _has_negative(request: GenerationRequest) -> bool:
    return bool(request.negative) or any(p.weight < 0 for p in request.prompts)


@dataclass(frozen=True)
class Rule:
    """One flag's support: whether a request uses it, whether a preset honours that use, the
    refusal, what `fit` does with an untyped value, and the table cell."""

    flag: str  # as the table and messages write it
    fields: tuple[str, ...]  # request fields the flag sets
    used: Callable[[GenerationRequest], bool]
    honours: Callable[[Preset, GenerationRequest], bool]
    refusal: Callable[[Preset, GenerationRequest], str]
    dropped: Callable[[Preset, GenerationRequest], dict[str, object]]
    cell: Callable[[Preset], str]
    # Offered by some model in principle; the refusal lists the served ones that do.
    supported_by: Callable[[Preset], bool] = lambda preset: True


def _reference_problem(preset: Preset, request: GenerationRequest, flag: str) -> str | None:
    """Why `preset` cannot use this request's references of `flag`, or None."""
    refs = request.sref if flag == "--sref" else request.cref
    if preset.ip_adapter is None:
        return f"{preset.name} has no image adapter (IP-Adapter) for {flag}"
    if any("::" in ref for ref in refs):
        return f"per-link weights (`link::2`) in {flag} are not supported: use --sw or --cw"
    if any(not ref.lower().startswith(("http://", "https://")) for ref in refs):
        return f"{flag} style codes and `random` are Midjourney's own: use image links"
    if request.image_prompts:
        return f"{flag} cannot be combined with image prompts yet: use one or the other"
    return None


def _reference(flag: str, what: str) -> Rule:
    """Style and character references: through the preset's IP-Adapter."""
    field_names = {"--sref": ("sref", "style_weight"), "--cref": ("cref", "character_weight")}
    fields = field_names[flag]
    return Rule(
        flag,
        fields,
        lambda r: bool(getattr(r, fields[0])),
        lambda p, r: _reference_problem(p, r, flag) is None,
        lambda p, r: f"{flag} ({what}): {_reference_problem(p, r, flag)}",
        lambda p, r: {fields[0]: (), fields[1]: None},
        lambda p: "yes (IP-Adapter)" if p.ip_adapter is not None else "no",
        supported_by=lambda p: p.ip_adapter is not None,
    )


RULES: tuple[Rule, ...] = (
    Rule(
        "--ar",
        ("aspect",),
        lambda r: r.aspect != (1, 1),
        lambda p, r: _within_aspect(p, r.aspect),
        lambda p, r: (
            f"--ar {r.aspect_str} is outside what {p.name} renders: use ratios from "
            f"{_aspect_range(p)}"
        ),
        lambda p, r: {"aspect": _clamped_aspect(p, r.aspect)},
        _aspect_range,
    ),
    Rule(
        "--no",
        ("negative",),
        _has_negative,
        lambda p, r: "negative" in p.supports,
        lambda p, r: (
            f"{p.name} has no negative prompt, so --no and negative `::` weights would do "
            "nothing: remove them"
        ),
        lambda p, r: {"negative": ()},
        lambda p: (
            "no"
            if "negative" not in p.supports
            else "yes"
            if p.guidance_scale
            else f"yes (guidance {p.negative_guidance})"
        ),
        supported_by=lambda p: "negative" in p.supports,
    ),
    Rule(
        "--stylize",
        ("stylize",),
        lambda r: r.stylize != 100,
        lambda p, r: (p.house_style is not None and r.style != "raw") or p.guidance_scale > 0,
        lambda p, r: (
            f"--stylize does nothing on {p.name} "
            + ("with --style raw" if p.house_style else "(no house style, no guidance)")
            + ": remove it"
        ),
        lambda p, r: {"stylize": 100},
        lambda p: "yes" if p.house_style is not None or p.guidance_scale > 0 else "no",
    ),
    Rule(
        "--style",
        ("style",),
        lambda r: r.style is not None,
        lambda p, r: r.style == "raw" and p.house_style is not None,
        lambda p, r: (
            f"--style {r.style} is not a style of {p.name}"
            + ("; its one style is raw (no house style)" if p.house_style else ", which has none")
        ),
        lambda p, r: {"style": None},
        lambda p: "raw" if p.house_style is not None else "no",
        supported_by=lambda p: p.house_style is not None,
    ),
    Rule(
        "--quality",
        ("quality",),
        lambda r: r.quality != 1,
        lambda p, r: r.quality in qualities(p),
        lambda p, r: (
            f"--q {_quality_text(r.quality)} renders like another value on {p.name} "
            f"({p.default_steps} steps): use " + ", ".join(_quality_text(q) for q in qualities(p))
        ),
        lambda p, r: {"quality": min(qualities(p), key=lambda q: abs(q - r.quality))},
        lambda p: ", ".join(_quality_text(q) for q in qualities(p)),
    ),
    Rule(
        "--tile",
        ("tile",),
        lambda r: r.tile,
        lambda p, r: "tile" in p.supports,
        lambda p, r: f"{p.name} cannot make tiling images: remove --tile",
        lambda p, r: {"tile": False},
        lambda p: "yes" if "tile" in p.supports else "no",
        supported_by=lambda p: "tile" in p.supports,
    ),
    _reference("--sref", "style reference"),
    _reference("--cref", "character reference"),
)
"""Flags whose support depends on the preset. The rest act on every preset in the same
way: --seed, --chaos, --repeat, --stop, --weird, --iw (with an image prompt), --fast and
--relax; --v, --niji, --model and --turbo choose the preset (`choose_model`)."""

UNIVERSAL = ("--seed", "--chaos", "--repeat", "--stop", "--weird", "--iw", "--fast, --relax")


def check(preset: Preset, request: GenerationRequest, served: Mapping[str, Preset]) -> None:
    """Raise Unsupported for the first typed flag `preset` cannot honour, naming the served
    models that can (run `fit` first: untyped values are the caller's to drop)."""
    for rule in RULES:
        if rule.used(request) and not rule.honours(preset, request):
            others = [p.name for p in served.values() if p is not preset and rule.supported_by(p)]
            where = f" (or pick a model that has it: {', '.join(others)})" if others else ""
            raise Unsupported(rule.refusal(preset, request) + where + ".", rule.flag)


def fit(preset: Preset, request: GenerationRequest) -> GenerationRequest:
    """`request` without the untyped values `preset` cannot use (the member's /settings or
    /prefer ask for them, not this prompt); typed values are left for `check` to refuse."""
    changes: dict[str, object] = {}
    for rule in RULES:
        typed = any(name in request.typed for name in rule.fields)
        if not typed and rule.used(request) and not rule.honours(preset, request):
            changes.update(rule.dropped(preset, request))
    return dataclasses.replace(request, **changes) if changes else request  # type: ignore[arg-type]


def skipped(preset: Preset, request: GenerationRequest) -> list[str]:
    """The flags of `request` that `preset` cannot honour (what `fit` drops when they are not
    typed): /settings shows them next to the member's defaults."""
    return [rule.flag for rule in RULES if rule.used(request) and not rule.honours(preset, request)]


def _model_names(served: Mapping[str, Preset]) -> str:
    named = [
        p.name + (f" (--v {', '.join(p.aliases)})" if p.aliases else "") for p in served.values()
    ]
    return ", ".join(named)


def _alias_of(request: GenerationRequest) -> tuple[str, str] | None:
    """(the flag as a member would type it, the alias it names), if the request picks one."""
    if request.model is not None:
        return f"--model {request.model}", request.model
    if request.version is not None:
        return f"--v {request.version}", request.version
    if request.niji is not None:
        return f"--niji {request.niji}", f"niji {request.niji}"
    return None


def choose_model(served: Mapping[str, Preset], request: GenerationRequest, fallback: str) -> str:
    """The preset a request renders with: the one its --v, --niji or --model names (a preset's
    name or one of its aliases), else `fallback` (the member's /settings model or the default);
    then --turbo moves to that preset's faster twin. A typed choice that no served preset
    answers to is refused, listing what is available."""
    model = fallback
    picked = _alias_of(request)
    if picked is not None:
        flag, alias = picked
        found = next(
            (p.name for p in served.values() if alias == p.name or alias in p.aliases), None
        )
        typed = bool({"model", "version", "niji"} & request.typed)
        if found is not None:
            model = found
        elif typed:
            raise Unsupported(
                f"{flag} is not a model here; models here: {_model_names(served)}.",
                flag.split()[0],
                "model_unavailable",
            )
    if request.lane == "turbo":
        twin = served[model].turbo if model in served else None
        if twin is not None and twin in served:
            return twin
        if any(p.turbo == model for p in served.values()):
            return model  # already the twin (a remix of a --turbo job)
        if "lane" in request.typed:
            faster = [p.name for p in served.values() if p.turbo in served]
            hint = f"; --turbo works with {', '.join(faster)}" if faster else ""
            raise Unsupported(
                f"--turbo switches to a faster twin of the model, and {model} has none "
                f"here{hint}: use --fast.",
                "--turbo",
            )
    return model


def markdown_table(presets: Mapping[str, Preset]) -> str:
    """The flag x model table of docs/prompt-language.md (a test keeps the doc in step)."""
    names = list(presets)
    lines = [
        "| flag | " + " | ".join(f"`{n}`" for n in names) + " |",
        "|---" * (len(names) + 1) + "|",
    ]
    for rule in RULES:
        cells = [rule.cell(presets[n]) for n in names]
        lines.append(f"| `{rule.flag}` | " + " | ".join(cells) + " |")
    versions = [", ".join(presets[n].aliases) or "-" for n in names]
    lines.append("| `--v` / `--niji` | " + " | ".join(versions) + " |")
    turbo = [presets[n].turbo or "-" for n in names]
    lines.append("| `--turbo` | " + " | ".join(turbo) + " |")
    for flag in UNIVERSAL:
        lines.append(f"| `{flag}` | " + " | ".join("yes" for _ in names) + " |")
    return "\n".join(lines)
