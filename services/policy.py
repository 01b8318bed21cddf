"""Moderation of whole prompts: every permutation, positive and excluded content apart."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import moderation
from db import TermRepository
from inference.prompt import GenerationRequest, PromptError, expand, parse
from moderation import embedding
from moderation.semantic import SemanticCheck


def deployment_policy(lexicon_file: Path | None) -> moderation.Policy:
    """The built-in lists plus the deployment's private lexicon file, if one is configured."""
    if lexicon_file is None:
        return moderation.Policy()
    return moderation.Policy.with_lexicon(lexicon_file)


async def guild_policy(
    terms: TermRepository, guild_id: int | None, base: moderation.Policy | None = None
) -> moderation.Policy:
    """The deployment's policy (`base`: built-in lists plus a private lexicon) and a guild's
    own blocked and allowed terms (/mod terms)."""
    extra: dict[str, set[str]] = {k: set(v) for k, v in (base.extra_terms if base else {}).items()}
    allowed: set[str] = set(base.allow_terms) if base else set()
    for term in await terms.for_guild(guild_id):
        if term.category == "allow":
            allowed.add(term.term)
        else:
            extra.setdefault(term.category, set()).add(term.term)
    return moderation.Policy(
        extra_terms={k: frozenset(v) for k, v in extra.items()}, allow_terms=frozenset(allowed)
    )


def verdict_for(request: GenerationRequest, policy: moderation.Policy | None) -> moderation.Verdict:
    positive = [p.text for p in request.prompts if p.weight > 0]
    negative = [*request.negative, *(p.text for p in request.prompts if p.weight < 0)]
    return moderation.check_prompt(positive, negative, policy)


def moderate_prompt(
    text: str, policy: moderation.Policy | None = None, semantic: SemanticCheck | None = None
) -> moderation.Verdict:
    """The verdict for raw prompt text: blocked if any expansion is blocked.

    A prompt the parser rejects is still moderated, as one block of positive text, so a
    typo in a flag cannot smuggle content past the check.
    """
    return moderate_batch([text], policy, semantic)[0]


def moderate_batch(
    texts: Sequence[str],
    policy: moderation.Policy | None = None,
    semantic: SemanticCheck | None = None,
    batch_size: int = 64,
) -> list[moderation.Verdict]:
    """`moderate_prompt` for many prompts, the semantic layers embedding them in batches."""
    verdicts: list[moderation.Verdict] = []
    pending: list[tuple[int, str]] = []  # (prompt index, an expansion's concepts)
    for index, text in enumerate(texts):
        verdict, concepts = _term_verdict(text, policy)
        verdicts.append(verdict)
        if verdict.allowed and semantic is not None:
            pending += [(index, c) for c in concepts if c.strip()]
    if semantic is not None and pending:
        vectors = semantic.embedder.embed([c for _, c in pending], batch_size)
        for (index, _), vector in zip(pending, vectors, strict=True):
            if verdicts[index].allowed:
                verdicts[index] = semantic.check_vector(vector) or verdicts[index]
    return verdicts


def _term_verdict(
    text: str, policy: moderation.Policy | None
) -> tuple[moderation.Verdict, list[str]]:
    """The term rules' verdict over every expansion, and each expansion's concepts as one
    text (what the semantic layers read)."""
    try:
        expansions = expand(text)
    except PromptError:
        expansions = [text]
    verdict = moderation.check_prompt([], (), policy)
    concepts = []
    for expansion in expansions:
        try:
            request = parse(expansion)
        except PromptError:
            verdict = moderation.check_prompt([expansion], (), policy)
            concepts.append(expansion)
        else:
            verdict = verdict_for(request, policy)
            concepts.append(" ".join(p.text for p in request.prompts if p.weight > 0))
        if not verdict.allowed:
            return verdict, []
    return verdict, concepts


def semantic_layer(enabled: bool | None) -> SemanticCheck | None:
    """The semantic layers if `enabled`, or (None) if the optional extra is installed."""
    if enabled is False or (enabled is None and not embedding.available()):
        return None
    return SemanticCheck()
