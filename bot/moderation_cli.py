"""`imaginebot moderate`: verdicts for one prompt or a file of them, and training the
classifier layer (`imaginebot moderate train DATA...`)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from services.settings import Settings


def moderate(args: argparse.Namespace, settings: Settings) -> int:
    """Print one JSON verdict per prompt, with the policy and layers the bot runs with the
    same settings and extras; RuntimeError, OSError or ValueError for bad input."""
    from services.policy import deployment_policy, moderate_batch, semantic_layer

    if args.prompt[:1] == ["train"]:
        return train(args)
    if (args.batch is None) == (len(args.prompt) != 1):
        raise ValueError("give one prompt, or --batch FILE (one prompt per line, - for stdin)")
    semantic = semantic_layer(True if args.semantic else settings.semantic_moderation)
    policy = deployment_policy(settings.lexicon_file)
    if args.batch is None:
        prompts = args.prompt
    elif args.batch == "-":
        prompts = sys.stdin.read().splitlines()
    else:
        prompts = Path(args.batch).read_text(encoding="utf-8").splitlines()
    for verdict in moderate_batch(prompts, policy, semantic):
        print(json.dumps(verdict.to_json(), ensure_ascii=False))
    return 0


def train(args: argparse.Namespace) -> int:
    from moderation.classifier import DEFAULT_WEIGHTS
    from moderation.dataset import load_rows
    from moderation.embedding import Embedder
    from moderation.train import CachedEmbedder, examples_from, own_cases
    from moderation.train import train as train_head

    paths = [Path(p) for p in args.prompt[1:]]
    if not paths:
        raise ValueError("name the labelled data: imaginebot moderate train DATA_DIR_OR_CSV...")
    files = [(str(f), rows) for p in paths for f, rows in load_rows(p, "dev")]
    examples = own_cases() + examples_from(files)
    head = train_head(examples, CachedEmbedder(Embedder(), args.embeddings))
    output = args.output or DEFAULT_WEIGHTS
    head.save(output)
    thresholds = {
        c: round(float(t), 3) for c, t in zip(head.categories, head.thresholds, strict=True)
    }
    print(json.dumps({"examples": len(examples), "weights": str(output), "thresholds": thresholds}))
    return 0
