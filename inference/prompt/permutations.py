"""`{a, b}` permutations: one prompt text -> the texts of its jobs. Pure, linear time.

Escapes (`\\,` `\\{` `\\}` `\\\\`) are resolved once per prompt by `park`, before expansion: each
becomes a character the text lacks, so the brace scanner and the `--no` comma split never
see them, and `restore` turns a parked piece back into plain text. Only str methods run over
the text, linear and in C (a regex with a replacement template runs Python per match), and
once per prompt, not once per job.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from inference.prompt.errors import PromptError

Restore = Callable[[str], str]

MAX_JOBS = 40
"""Most jobs one prompt may expand to (Midjourney's cap); `--repeat` is not counted."""
CONFIRM_ABOVE = 5
"""Above this many expansions the bot asks the user to confirm."""
MAX_BRACE_DEPTH = 10
"""Deepest `{}` nesting accepted; keeps expansion recursion bounded on adversarial input."""
MAX_BRACE_SETS = 100
"""Most `{}` sets in one prompt; bounds the scan (Python work per brace) well under 10 ms."""

_SPECIAL = re.compile(r"[{},]")

# A sequence is a list of literal strings and groups; a group is a list of option sequences.
_Seq = list["str | _Group"]
_Group = list[_Seq]


def has_braces(text: str) -> bool:
    """True if the text may contain a permutation (cheap pre-check for the fast path)."""
    return "{" in text or "}" in text


def _absent(text: str, n: int) -> list[str]:
    """`n` characters that do not occur in `text`, to park escapes on."""
    usual = ["\x00", "\x01", "\x02", "\x03"][:n]
    if not any(c in text for c in usual):
        return usual
    present = set(text)  # linear however many private-use characters the text holds
    found: list[str] = []
    for c in map(chr, range(0xE000, 0xF900)):  # more than a prompt can hold
        if c not in present:
            found.append(c)
            if len(found) == n:
                break
    return found


def same(text: str) -> str:
    """The `restore` of a text without escapes."""
    return text


def park(text: str) -> tuple[str, Restore, Restore]:
    """(parked text, restore to plain text, restore to escaped prompt text)."""
    if "\\" not in text:
        return text, same, same
    pair, comma, left, right = _absent(text, 4)
    parked = (
        text.replace("\\\\", pair).replace("\\,", comma).replace("\\{", left).replace("\\}", right)
    )

    def restore(piece: str) -> str:
        return piece.replace(pair, "\\").replace(comma, ",").replace(left, "{").replace(right, "}")

    def reescape(piece: str) -> str:
        # Every backslash left is literal; doubling it keeps it literal whatever follows.
        return (
            piece.replace("\\", "\\\\")
            .replace(pair, "\\\\")
            .replace(comma, "\\,")
            .replace(left, "\\{")
            .replace(right, "\\}")
        )

    return parked, restore, reescape


def unescape(text: str) -> str:
    """Turn `\\,` `\\{` `\\}` `\\\\` into the character; any other backslash stays."""
    parked, restore, _ = park(text)
    return restore(parked)


def escape(text: str, commas: bool = False) -> str:
    """The inverse of `unescape` for text we render back into a prompt."""
    text = text.replace("\\", "\\\\").replace("{", "\\{").replace("}", "\\}")
    return text.replace(",", "\\,") if commas else text


def _parse_tree(text: str) -> _Seq:
    """Build the brace tree of a parked text iteratively; raise on unbalanced or deep braces."""
    root: _Seq = []
    seq = root
    stack: list[tuple[_Seq, _Group]] = []  # each open group: the sequence it sits in, options
    pos = 0
    sets = 0
    for m in _SPECIAL.finditer(text):
        c = m.group()
        if c == "," and not stack:
            continue
        i = m.start()
        if pos < i:
            seq.append(text[pos:i])
        pos = i + 1
        if c == "{":
            sets += 1
            if sets > MAX_BRACE_SETS:
                raise PromptError(
                    f"This prompt has more than {MAX_BRACE_SETS} {{ }} permutation sets; use "
                    f"fewer (a prompt makes at most {MAX_JOBS} jobs).",
                    "too_many_sets",
                    "permutation",
                )
            if len(stack) >= MAX_BRACE_DEPTH:
                raise PromptError(
                    f"Permutation braces are nested more than {MAX_BRACE_DEPTH} deep; use at "
                    f"most {MAX_BRACE_DEPTH} levels of {{ }}.",
                    "brace_depth",
                    "permutation",
                )
            option: _Seq = []
            stack.append((seq, [option]))
            seq = option
        elif c == ",":
            option = []
            group = stack[-1][1]
            group.append(option)
            if len(group) > MAX_JOBS:  # every option is at least one job: stop scanning now
                raise _too_many_jobs(f"more than {MAX_JOBS}")
            seq = option
        else:  # "}"
            if not stack:
                raise PromptError(
                    f"Permutation has a '}}' with no '{{' before it, after {_before(text, i)}; "
                    "write {a, b} or escape it as \\}.",
                    "brace_unopened",
                    "permutation",
                )
            parent, group = stack.pop()
            for opt in group:
                _trim(opt)
            parent.append(group)
            seq = parent
    if stack:
        raise PromptError(
            "Permutation has a '{' that is never closed; write {a, b} or escape it as \\{.",
            "brace_unclosed",
            "permutation",
        )
    if pos < len(text):
        seq.append(text[pos:])
    return root


def _before(text: str, i: int) -> str:
    """The few characters before position i, quoted, to point at a spot in a message."""
    return "'" + " ".join(text[max(0, i - 20) : i].split()) + "'"


def _trim(option: _Seq) -> None:
    """Strip the whitespace around one option."""
    if option and isinstance(option[0], str):
        option[0] = option[0].lstrip()
    if option and isinstance(option[-1], str):
        option[-1] = option[-1].rstrip()


def _count(seq: _Seq, memo: dict[int, int]) -> int:
    """Jobs a sequence makes: sets multiply, options add; memoised per group by id."""
    total = 1
    for part in seq:
        if not isinstance(part, str):
            n = memo.get(id(part))
            if n is None:
                n = memo[id(part)] = sum(_count(opt, memo) for opt in part)
            total *= n
    return total


def _flat(seq: _Seq) -> str:
    """The one text of a sequence whose groups all have a single one-job option."""
    return "".join(part if isinstance(part, str) else _flat(part[0]) for part in seq)


def _expand(seq: _Seq, memo: dict[int, int]) -> list[str]:
    # Literals and one-job groups are joined once, so only the few branching groups (at most
    # five can multiply within 40 jobs) copy strings: no quadratic concatenation.
    results = [""]
    buf: list[str] = []
    for part in seq:
        if isinstance(part, str):
            buf.append(part)
        elif memo[id(part)] == 1:
            buf.append(_flat(part[0]))
        else:
            if buf:
                literal = "".join(buf)
                results = [r + literal for r in results]
                buf = []
            options = [text for opt in part for text in _expand(opt, memo)]
            results = [r + o for r in results for o in options]
    if buf:
        literal = "".join(buf)
        results = [r + literal for r in results]
    return results


def _too_many_jobs(shown: str) -> PromptError:
    return PromptError(
        f"This prompt's permutations make {shown} jobs; at most {MAX_JOBS} are allowed, "
        "so use fewer options in { }.",
        "too_many_jobs",
        "permutation",
    )


def count_expansions(text: str) -> int:
    """Jobs the permutations in `text` make, without building them (exact, may be huge).

    Raises too_many_jobs at once if one set alone has more than MAX_JOBS options.
    """
    if not has_braces(text):
        return 1
    return _count(_parse_tree(park(text)[0]), {})


def expand_parked(parked: str) -> list[str]:
    """The job texts of a parked prompt (see `park`), in order; at most MAX_JOBS."""
    if not has_braces(parked):
        return [parked]
    tree = _parse_tree(parked)
    memo: dict[int, int] = {}
    count = _count(tree, memo)
    if count > MAX_JOBS:
        raise _too_many_jobs(f"{count}" if count < 10**6 else "over a million")
    return _expand(tree, memo)


def expand(text: str) -> list[str]:
    """Every job text of a prompt, in order (leftmost set varies slowest); at most MAX_JOBS.

    Escapes stay escaped, so each job text expands to itself and parses like the job.
    """
    if not has_braces(text):
        return [text]
    parked, _, reescape = park(text)
    return [reescape(job) for job in expand_parked(parked)]
