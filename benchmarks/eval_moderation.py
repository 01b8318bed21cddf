"""Moderation quality on public labelled prompt sets: share blocked per file and category.

Run: python benchmarks/eval_moderation.py [DATA_DIR] [--split dev|held-out|all]

DATA_DIR is the moderation development data (default ../shared/moderation-data, next to
the repository); the files are read from there, never copied. Every prompt belongs to one
split by a hash of its text: "held-out" (one in five) is never used for training or tuning
(see moderation/train.py), and figures reported in issues come from it.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from moderation.classifier import DEFAULT_WEIGHTS, ClassifierHead
from moderation.dataset import DEFAULT_DATA, load_rows
from services.policy import moderate_batch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--split", choices=("dev", "held-out", "all"), default="held-out")
    parser.add_argument("--misses", type=int, default=0, help="print this many misses per file")
    parser.add_argument("--semantic", action="store_true", help="with the semantic layers")
    parser.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS, help="classifier head")
    parser.add_argument("--embeddings", type=Path, help="cache of embeddings (.npz)")
    args = parser.parse_args()
    semantic = None
    if args.semantic:
        from moderation.embedding import Embedder
        from moderation.semantic import SemanticCheck
        from moderation.train import CachedEmbedder

        embedder = CachedEmbedder(Embedder(), args.embeddings)
        semantic = SemanticCheck(head=ClassifierHead.load(args.weights), embedder=embedder)
    csv.field_size_limit(1 << 20)
    started = time.perf_counter()
    totals: Counter[str] = Counter()
    blocked_totals: Counter[str] = Counter()
    for path, rows in load_rows(args.data, args.split):
        by_label: Counter[str] = Counter()
        blocked: Counter[str] = Counter()
        misses: list[str] = []
        verdicts = moderate_batch([row.prompt for row in rows], None, semantic)
        for row, verdict in zip(rows, verdicts, strict=True):
            by_label[row.label] += 1
            totals[row.label] += 1
            if not verdict.allowed:
                blocked[row.label] += 1
                blocked_totals[row.label] += 1
            elif row.label == "unsafe" and len(misses) < args.misses:
                misses.append(f"    miss [{row.category}] {row.prompt[:150]}")
            if row.label != "unsafe" and not verdict.allowed and len(misses) < args.misses:
                misses.append(
                    f"    false [{verdict.category}:{','.join(verdict.matched)}] {row.prompt[:150]}"
                )
        figures = ", ".join(
            f"{label} {blocked[label]}/{n} = {blocked[label] / n:.1%}"
            for label, n in sorted(by_label.items())
        )
        print(f"{path.relative_to(args.data)}: blocked {figures}")
        print("\n".join(misses)) if misses else None
    print(
        "all: "
        + ", ".join(
            f"{label} blocked {blocked_totals[label] / n:.1%} of {n}"
            for label, n in sorted(totals.items())
        )
        + f" ({time.perf_counter() - started:.1f} s, split {args.split})"
    )


if __name__ == "__main__":
    main()
