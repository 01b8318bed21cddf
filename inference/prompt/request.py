"""The validated request one job renders: what the prompt parser makes and the engine consumes."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any


@dataclass(frozen=True)
class WeightedPrompt:
    """One `::` concept: its text and its weight as typed (the engine normalises)."""

    text: str
    weight: float = 1.0


@dataclass(frozen=True)
class GenerationRequest:
    """Everything a render needs, validated; JSON-serialisable through `to_json`/`from_json`."""

    prompts: tuple[WeightedPrompt, ...]
    negative: tuple[str, ...] = ()
    aspect: tuple[int, int] = (1, 1)
    seed: int | None = None
    chaos: int = 0
    stylize: int = 100
    quality: float = 1.0
    tile: bool = False
    repeat: int = 1
    stop: int = 100
    weird: int = 0
    image_prompts: tuple[str, ...] = ()
    image_weight: float | None = None
    version: str | None = None
    niji: str | None = None
    model: str | None = None
    style: str | None = None
    sref: tuple[str, ...] = ()
    style_weight: int | None = None
    cref: tuple[str, ...] = ()
    character_weight: int | None = None
    lane: str | None = None
    # /blend: the weight of each image prompt, blended through the IP-Adapter (empty: the
    # image prompts start an img2img render, as in /imagine).
    blend: tuple[float, ...] = ()
    extras: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    # The fields the prompt's own flags set (not /settings or /prefer): a model that cannot
    # honour one of these refuses the job; the others it may skip (inference.capabilities).
    typed: frozenset[str] = field(default=frozenset(), compare=False, hash=False)

    def normalized_weights(self) -> tuple[float, ...]:
        """Each concept's weight over the sum (positive for parsed requests): `::` is relative."""
        total = sum(p.weight for p in self.prompts)
        return tuple(p.weight / total for p in self.prompts) if total > 0 else ()

    @property
    def aspect_str(self) -> str:
        return f"{self.aspect[0]}:{self.aspect[1]}"

    def to_json(self) -> dict[str, Any]:
        """The stable JSON shape (the `imaginebot parse` contract fields, plus the rest)."""
        out = asdict(self)
        out["prompts"] = [{"text": p.text, "weight": float(p.weight)} for p in self.prompts]
        out["negative"] = list(self.negative)
        out["aspect"] = self.aspect_str
        out["quality"] = float(self.quality)
        out["image_prompts"] = list(self.image_prompts)
        out["sref"] = list(self.sref)
        out["cref"] = list(self.cref)
        out["blend"] = list(self.blend)
        out["extras"] = dict(self.extras)
        out["typed"] = sorted(self.typed)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> GenerationRequest:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["prompts"] = tuple(
            WeightedPrompt(p["text"], float(p.get("weight", 1.0))) for p in data["prompts"]
        )
        w, h = str(data.get("aspect", "1:1")).split(":")
        values["aspect"] = (int(w), int(h))
        for name in ("negative", "image_prompts", "sref", "cref"):
            values[name] = tuple(data.get(name, ()))
        values["blend"] = tuple(float(w) for w in data.get("blend", ()))
        values["extras"] = dict(data.get("extras", {}))
        values["typed"] = frozenset(data.get("typed", ()))
        return cls(**values)
