"""Moderation of whole prompts: every permutation, positive and excluded content apart."""

from __future__ import annotations

from pathlib import Path

import moderation
from db import TermRepository
from inference.prompt import GenerationRequest, PromptError, expand, parse
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
    try:
        expansions = expand(text)
    except PromptError:
        expansions = [text]
    verdict = moderation.check_prompt([], (), policy)
    for expansion in expansions:
        try:
            verdict = verdict_for(parse(expansion), policy)
        except PromptError:
            verdict = moderation.check_prompt([expansion], (), policy)
        if verdict.allowed and semantic is not None:
            verdict = semantic.check([expansion]) or verdict
        if not verdict.allowed:
            return verdict
    return verdict
