"""Text conditioning: a request's concepts, negatives, house style and --weird as embeddings.

Stable Diffusion and SDXL go through compel (both SDXL text encoders, pooled embeddings),
which encodes a prompt of any length in 77-token chunks (no word is cut) and weights the
house-style fragment by --stylize. Flux encodes with its own pipeline (T5 tokens, CLIP
pooled); it has no negative prompt.

The mapping, documented in docs/inference.md:
- `::` concepts are blended by their share of the positive weights;
- a negative concept of weight -w, and --no (which is `::-0.5`, as Midjourney defines it),
  move the negative conditioning from the empty prompt's towards their text by
  w / (0.5 x the sum of positive weights): --no on a plain prompt is exactly a negative
  prompt, `::-0.25` half of one, `::-1` twice (pushed further away);
- the house style joins each concept at weight sqrt(stylize / 100) (0 at --s 0, 1 at the
  default 100, 3.16 at 1000); --style raw leaves it out;
- --weird w pulls the prompt embedding towards the embedding of a nonsense prompt (tokens
  drawn from the seed) by WEIRD_MIX x w / 1000 (0.3 at 1000, 0.9 at 3000), the same for
  the four images; --chaos c pulls each image towards its own nonsense prompt (from its own
  seed) by CHAOS_MIX x c / 100, so the grid spreads apart in content, not only in noise.

Blocking (text encoders): called from the render thread.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from inference.presets import Preset
from inference.prompt import GenerationRequest

# --no items count as one concept of this (negative) weight, as in Midjourney.
NO_WEIGHT = 0.5
# How far --weird 1000 and --chaos 100 pull towards a nonsense prompt (see the module doc).
WEIRD_MIX = 0.3
CHAOS_MIX = 0.5
_WEIRD_SALT = 0x3E1D
_CHAOS_SALT = 0x5EED
NONSENSE_TOKENS = 12
# T5 tokens of a Flux prompt (FLUX.1-schnell was trained with at most 256).
FLUX_MAX_TOKENS = 256


@dataclass(frozen=True)
class Text:
    """What the encoders see: weighted positive concepts, weighted negative ones, and the
    house style with its weight (0: none)."""

    positive: list[tuple[str, float]]  # (text, share of the positive weight)
    negative: list[tuple[str, float]]  # (text, magnitude relative to the positive weight)
    style: str
    style_weight: float


def style_weight(request: GenerationRequest) -> float:
    """The house style's compel weight for --stylize (0 with --style raw)."""
    return 0.0 if request.style == "raw" else math.sqrt(request.stylize / 100)


def text_of(preset: Preset, request: GenerationRequest) -> Text:
    """The concepts of a request as weighted texts (pure: no model)."""
    positive = [(p.text, p.weight) for p in request.prompts if p.weight > 0] or [("", 1.0)]
    total = sum(weight for _, weight in positive)
    unit = NO_WEIGHT * total  # the weight of a plain negative prompt
    negative = [(p.text, -p.weight / unit) for p in request.prompts if p.weight < 0]
    if request.negative:
        negative.append((", ".join(request.negative), NO_WEIGHT / unit))
    house = preset.house_style
    weight = style_weight(request) if house is not None else 0.0
    if house is not None and house.negative and weight > 0:
        negative.append((house.negative, weight))
    return Text(
        [(text, w / total) for text, w in positive],
        negative,
        house.positive if house is not None and weight > 0 else "",
        weight,
    )


def nonsense(tokenizer: Any, seed: int) -> str:
    """A prompt of NONSENSE_TOKENS vocabulary tokens drawn from `seed` (reproducible)."""
    generator = torch.Generator("cpu").manual_seed(seed)
    special = set(tokenizer.all_special_ids)
    ids = [
        i
        for i in torch.randint(
            0, len(tokenizer), (NONSENSE_TOKENS * 2,), generator=generator
        ).tolist()
        if i not in special
    ]
    return tokenizer.decode(ids[:NONSENSE_TOKENS], skip_special_tokens=True)


def drift(
    conditioning: dict[str, Any],
    request: GenerationRequest,
    seed: int,
    encode: Any,
    tokenizer: Any,
    seeds: list[int],
) -> dict[str, Any]:
    """--weird and --chaos applied to a batch's prompt embeddings, and to its pooled ones
    where the model has them (SDXL, Flux); see the module doc. `encode(text)` gives a
    text's (token embeddings, pooled embedding or None), `seeds` the images' seeds."""
    if not request.weird and not request.chaos:
        return conditioning
    out = dict(conditioning)
    with torch.no_grad():
        if request.weird:
            target = encode(nonsense(tokenizer, seed ^ _WEIRD_SALT))
            _pull(out, [target] * len(seeds), WEIRD_MIX * request.weird / 1000)
        if request.chaos:
            targets = [encode(nonsense(tokenizer, s ^ _CHAOS_SALT)) for s in seeds]
            _pull(out, targets, CHAOS_MIX * request.chaos / 100)
    return out


def _pull(conditioning: dict[str, Any], targets: list[tuple[Any, Any]], share: float) -> None:
    """Move each image's embeddings `share` of the way to its target's."""
    embeds = conditioning["prompt_embeds"]
    goal = torch.cat([_fitted(tokens, embeds[:1]) for tokens, _ in targets])
    conditioning["prompt_embeds"] = embeds + share * (goal - embeds)
    pooled = conditioning.get("pooled_prompt_embeds")
    if pooled is not None and targets[0][1] is not None:
        pooled_goal = torch.cat([p.to(pooled.device, pooled.dtype) for _, p in targets])
        conditioning["pooled_prompt_embeds"] = pooled + share * (pooled_goal - pooled)


def _fitted(target: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """`target` cut or padded (with its last token) to `like`'s token count."""
    length = like.shape[1]
    if target.shape[1] < length:
        pad = target[:, -1:].repeat(1, length - target.shape[1], 1)
        target = torch.cat([target, pad], dim=1)
    return target[:, :length].to(like.device, like.dtype)


class CompelText:
    """compel over a Stable Diffusion (one CLIP encoder) or SDXL (two, with pooled) pipeline."""

    def __init__(self, pipe: Any) -> None:
        from compel import Compel, ReturnedEmbeddingsType

        xl = getattr(pipe, "text_encoder_2", None) is not None
        kind = (
            ReturnedEmbeddingsType.PENULTIMATE_HIDDEN_STATES_NON_NORMALIZED
            if xl
            else ReturnedEmbeddingsType.LAST_HIDDEN_STATES_NORMALIZED
        )
        pairs = [(pipe.tokenizer, pipe.text_encoder)]
        if xl:
            pairs.append((pipe.tokenizer_2, pipe.text_encoder_2))
        self.parts = [
            Compel(
                tokenizer=tokenizer,
                text_encoder=encoder,
                returned_embeddings_type=kind,
                truncate_long_prompts=False,
                requires_pooled=i == 1,
                dtype_for_device_getter=lambda device, e=encoder: e.dtype,
            )
            for i, (tokenizer, encoder) in enumerate(pairs)
        ]
        self.pooled = xl

    def encode(self, text: str, style: str = "", weight: float = 0.0) -> tuple[Any, Any]:
        """(token embeddings, pooled embedding or None) of `text`, with the house `style`
        fragment at `weight` when given."""
        from compel.prompt_parser import Conjunction, FlattenedPrompt, Fragment

        fragments = [Fragment(text, 1.0)]
        if style and weight > 0:
            fragments.append(Fragment(", " + style, weight))
        embeds = []
        for part in self.parts:
            conjunction = Conjunction([FlattenedPrompt(fragments)])
            conditioning, _ = part.build_conditioning_tensor_for_conjunction(conjunction)
            embeds.append(conditioning)
        length = max(e.shape[1] for e in embeds)
        embeds = [
            _pad(e, length, part.conditioning_provider.empty_z)
            for e, part in zip(embeds, self.parts, strict=True)
        ]
        pooled = None
        if self.pooled:
            joined = f"{text}, {style}" if style and weight > 0 else text
            provider = self.parts[1].conditioning_provider
            pooled = provider.get_pooled_embeddings([joined], device=embeds[1].device)
        return torch.cat(embeds, dim=-1), pooled

    def conditioning(self, text: Text, batch: int) -> dict[str, Any]:
        """Pipeline keyword arguments for a batch: blended prompt and negative embeddings."""
        with torch.no_grad():
            concepts = [(share, *self.encode(t, text.style, text.style_weight)) for t, share in
                        text.positive]  # fmt: skip
            empty, empty_pooled = self.encode("")
            negatives = [(m, *self.encode(t)) for t, m in text.negative]
            length = max(e.shape[1] for _, e, _ in [*concepts, *negatives, (0, empty, None)])
            embeds = sum(share * self._padded(e, length) for share, e, _ in concepts)
            base = self._padded(empty, length)
            negative = base + sum(m * (self._padded(e, length) - base) for m, e, _ in negatives)
        out = {
            "prompt_embeds": embeds.repeat(batch, 1, 1),
            "negative_prompt_embeds": negative.repeat(batch, 1, 1),
        }
        if self.pooled:
            pooled = sum(share * p for share, _, p in concepts)
            negative_pooled = empty_pooled + sum(m * (p - empty_pooled) for m, _, p in negatives)
            out["pooled_prompt_embeds"] = pooled.repeat(batch, 1)
            out["negative_pooled_prompt_embeds"] = negative_pooled.repeat(batch, 1)
        return out

    def _padded(self, embeds: Any, length: int) -> Any:
        """Concatenated (SDXL: both encoders') embeddings padded to `length` tokens."""
        empties = [part.conditioning_provider.empty_z.to(embeds.device) for part in self.parts]
        return _pad(embeds, length, torch.cat(empties, dim=-1))


def _pad(embeds: Any, length: int, empty: Any) -> Any:
    """Embeddings padded to `length` tokens with 77-token chunks of the empty prompt's."""
    if embeds.shape[1] == length:
        return embeds
    empty = empty.to(embeds.device, embeds.dtype)
    if empty.dim() == 2:
        empty = empty.unsqueeze(0)
    repeats = (length - embeds.shape[1]) // empty.shape[1]
    return torch.cat([embeds, empty.repeat(1, repeats, 1)], dim=1)


class FluxText:
    """Flux's own encoders: T5 token embeddings and the CLIP pooled embedding, blended by the
    concepts' shares; the house style mixed in by its weight."""

    def __init__(self, pipe: Any, device: str) -> None:
        self.pipe = pipe
        self.device = device

    def encode(self, text: str) -> tuple[Any, Any]:
        tokens = len(self.pipe.tokenizer_2(text).input_ids)
        if tokens > FLUX_MAX_TOKENS:
            raise ValueError(
                f"This prompt is {tokens} tokens long; Flux reads at most {FLUX_MAX_TOKENS}: "
                "shorten it."
            )
        embeds, pooled, _ = self.pipe.encode_prompt(
            prompt=text, prompt_2=None, device=self.device, num_images_per_prompt=1,
            max_sequence_length=FLUX_MAX_TOKENS,
        )  # fmt: skip
        return embeds, pooled

    def conditioning(self, text: Text, batch: int) -> dict[str, Any]:
        with torch.no_grad():
            concepts = []
            for t, share in text.positive:
                embeds, pooled = self.encode(t)
                if text.style:
                    styled, styled_pooled = self.encode(f"{t}, {text.style}")
                    length = min(embeds.shape[1], styled.shape[1])
                    embeds = embeds[:, :length] + text.style_weight * (
                        styled[:, :length] - embeds[:, :length]
                    )
                    pooled = pooled + text.style_weight * (styled_pooled - pooled)
                concepts.append((share, embeds, pooled))
            length = min(e.shape[1] for _, e, _ in concepts)
            embeds = sum(share * e[:, :length] for share, e, _ in concepts)
            pooled = sum(share * p for share, _, p in concepts)
        return {
            "prompt_embeds": embeds.repeat(batch, 1, 1),
            "pooled_prompt_embeds": pooled.repeat(batch, 1),
        }
