"""Labelled prompt sets for training and measuring moderation (read in place, never copied).

Each CSV row has a `prompt` and a `category`: one of the policy's categories (several joined
by `|`) is unsafe, `benign`/`benign_unvetted` is benign, anything else is left out. Each
prompt falls in one split by a hash of its text, so a prompt is in the same split in every
file and every run: one in five is "held-out", never trained or tuned on.
"""

from __future__ import annotations

import csv
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from moderation.check import CATEGORIES

Split = Literal["dev", "held-out", "all"]
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "moderation-data"
# The source's own categories that a PG-13 server blocks too: harassment and shocking
# imagery (CoProV2). Deception, privacy, text on signs and mixed XSTest groups are left out.
_UNSAFE_OTHER = {"other:harassment": "hate", "other:shocking": "violence"}
_BENIGN = {"benign", "benign_unvetted"}
_HELD_OUT_ONE_IN = 5


@dataclass(frozen=True)
class Row:
    prompt: str
    category: str  # the first unsafe category, or "benign"

    @property
    def label(self) -> str:
        return "benign" if self.category == "benign" else "unsafe"


def split_of(prompt: str) -> Split:
    held = zlib.crc32(" ".join(prompt.lower().split()).encode()) % _HELD_OUT_ONE_IN == 0
    return "held-out" if held else "dev"


def row_of(prompt: str, category: str) -> Row | None:
    if category in _BENIGN:
        return Row(prompt, "benign")
    labels = [_UNSAFE_OTHER.get(c, c) for c in category.split("|")]
    unsafe = [c for c in labels if c in CATEGORIES]
    return Row(prompt, unsafe[0]) if unsafe else None


def read_file(path: Path, split: Split = "all") -> list[Row]:
    rows = []
    with path.open(newline="", encoding="utf-8") as f:
        for record in csv.DictReader(line for line in f if not line.startswith("#")):
            prompt = record.get("prompt") or record.get("text") or ""
            category = record.get("category") or ""
            row = row_of(prompt.strip(), category.strip())
            if row and row.prompt and (split == "all" or split_of(row.prompt) == split):
                rows.append(row)
    return rows


def load_rows(data: Path, split: Split = "all") -> Iterator[tuple[Path, list[Row]]]:
    """`data` if it is a CSV file, else every prompt CSV under it (word lists under terms/
    are not prompts)."""
    if data.is_file():
        yield data, read_file(data, split)
        return
    for path in sorted(data.rglob("*.csv")):
        if "terms" not in path.relative_to(data).parts:
            yield path, read_file(path, split)
