"""Seeds: image i of a grid uses seed + i, all inside Midjourney's 32-bit seed range."""

from __future__ import annotations

import random

SEED_SPACE = 2**32


def random_seed() -> int:
    return random.randrange(SEED_SPACE)


def repeat_seed(seed: int | None, k: int) -> int:
    """The k-th `--repeat` of a seeded prompt moves on by a grid's worth of seeds, so repeats
    differ yet stay reproducible; unseeded prompts get a fresh random seed each."""
    if seed is None:
        return random_seed()
    return (seed + 4 * k) % SEED_SPACE


def grid_seeds(seed: int, count: int = 4) -> list[int]:
    """The per-image seeds of a grid (wrapping inside the 32-bit range)."""
    return [(seed + i) % SEED_SPACE for i in range(count)]
