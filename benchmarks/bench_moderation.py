"""Moderation benchmark: throughput, worst case on adversarial input, recall and false positives.

Run: python benchmarks/bench_moderation.py
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from moderation import check_prompt
from testing.redteam import must_allow, must_block

TYPICAL = [
    "a red fox in snow, cinematic lighting, 35mm",
    "portrait of an old fisherman, dramatic light, highly detailed",
    "a cyberpunk street at night with neon signs and rain",
    "an astronaut riding a horse on mars, oil painting",
    "a cozy cabin in the woods, autumn, watercolor",
    "a knight fighting a dragon, epic fantasy art",
    "a bowl of ramen, food photography, top view",
    "a lighthouse in a storm, waves crashing, moody",
]


def glued(rng: random.Random) -> str:
    """A 24-letter word that is no known word: the longest the glued-word split takes."""
    return "".join(rng.choice("qwrtzpsdfghjklxcvbnm") for _ in range(24))


def adversarial(rng: random.Random) -> list[str]:
    letters = "n u d e " * 750
    return [
        letters[:6000],
        ("a" * 5999) + "!",
        ("n.s.f.w." * 750)[:6000],
        " ".join("p0rn" for _ in range(1200))[:6000],
        "".join(rng.choice("абвгдеёжзиклмнопрстуфхцчшщъыьэюя \u200b*-.") for _ in range(6000)),
        ("x*" * 3000),
        ("{a, b} " * 850)[:6000],
        ("pornographc " * 545)[:6000],
        " ".join(
            "".join(rng.choice("qwrtzpsdfghjklxcvbnm") for _ in range(24)) for _ in range(240)
        )[:6000],
        ("nu:: de-wo.man " * 400)[:6000],
    ]


def main() -> None:
    check_prompt(["warm up"])
    start = time.perf_counter()
    n = 0
    while time.perf_counter() - start < 2.0:
        for prompt in TYPICAL:
            check_prompt([prompt])
            n += 1
    rate = n / (time.perf_counter() - start)
    worst = cold = 0.0
    for text in adversarial(random.Random(7)):
        runs = []
        for _ in range(5):
            t0 = time.perf_counter()
            check_prompt([text], [text[:1000]])
            runs.append(time.perf_counter() - t0)
        cold = max(cold, runs[0])
        worst = max(worst, sorted(runs)[len(runs) // 2])
    block = must_block()
    allow = must_allow()
    caught = sum(not check_prompt([t], neg).allowed for _, t, neg, _ in block)
    minors = [(t, neg) for _, t, neg, c in block if c == "minors"]
    minors_caught = sum(not check_prompt([t], neg).allowed for t, neg in minors)
    false_pos = sum(not check_prompt([t], neg).allowed for _, t, neg in allow)
    print(f"typical prompts/s (one core): {rate:,.0f}   (goal >= 5,000)")
    print(f"worst adversarial 6000-char input: {worst * 1000:.2f} ms median of 5 (goal < 5 ms)")
    print(f"  slowest first run (cold caches): {cold * 1000:.2f} ms")
    report("recall on must-block", caught, len(block), "goal >= 95%")
    report("minors recall", minors_caught, len(minors), "goal 100%")
    report("false positives on must-allow", false_pos, len(allow), "goal <= 3%")
    semantic_layers([t for _, t, _, _ in block[:300]] + [t for _, t, _ in allow])


def semantic_layers(prompts: list[str]) -> None:
    """Per-prompt latency of the classifier and example layers (embedding included), one
    prompt at a time as the bot calls them, against the bare MiniLM forward pass."""
    from moderation import embedding

    if not embedding.available():
        print("semantic layers: extra not installed, skipped")
        return
    import torch

    from moderation.semantic import SemanticCheck

    torch.set_num_threads(1)
    semantic = SemanticCheck()
    for prompt in prompts[:20]:
        semantic.check([prompt])
    layer, bare = [], []
    for prompt in prompts:
        t0 = time.perf_counter()
        semantic.embedder.embed([prompt])
        bare.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        semantic.check([prompt])
        layer.append(time.perf_counter() - t0)
    p50, p99 = (sorted(layer)[int(q * (len(layer) - 1))] * 1000 for q in (0.5, 0.99))
    ratio = sum(layer) / sum(bare)
    print(
        f"semantic layers per prompt (one thread): p50 {p50:.1f} ms, p99 {p99:.1f} ms "
        f"(goal p99 < 20 ms); {ratio:.2f}x the bare embedding"
    )


def report(what: str, count: int, total: int, goal: str) -> None:
    print(f"{what}: {count}/{total} = {count / total:.1%}   ({goal})")


if __name__ == "__main__":
    main()
