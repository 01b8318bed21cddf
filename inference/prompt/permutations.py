"""`{a, b}` permutations: one prompt text -> the texts of its jobs. Pure, linear-time scan.

Escapes (`\\,` `\\{` `\\}` `\\\\`) are kept in the expanded texts, so an expansion can be
expanded again with the same result; `unescape` removes them once the text is parsed.
"""

from __future__ import annotations

import re

from inference.prompt.errors import PromptError

MAX_JOBS = 40
"""Most jobs one prompt may expand to (Midjourney's cap); `--repeat` is not counted."""
CONFIRM_ABOVE = 5
"""Above this many expansions the bot asks the user to confirm."""
MAX_BRACE_DEPTH = 10
"""Deepest `{}` nesting accepted; keeps expansion recursion bounded on adversarial input."""
MAX_BRACE_SETS = 100
"""Most `{}` sets in one prompt; bounds the scan (Python work per brace) well under 10 ms."""

_SPECIAL = re.compile(r"[\\{},]")

# A sequence is a list of literal strings and groups; a group is a list of option sequences.
_Seq = list["str | _Group"]
_Group = list[_Seq]


def has_braces(text: str) -> bool:
    """True if the text may contain a permutation (cheap pre-check for the fast path)."""
    return "{" in text or "}" in text


def _absent(text: str, n: int) -> list[str]:
    """`n` characters that do not occur in `text`, to park escapes on while splitting."""
    usual = ["\x00", "\x01"][:n]
    if not any(c in text for c in usual):
        return usual
    present = set(text)
    return [chr(c) for c in range(0xE000, 0xF900) if chr(c) not in present][:n]


def unescape(text: str) -> str:
    """Turn `\\,` `\\{` `\\}` `\\\\` into the character; any other backslash stays."""
    if "\\" not in text:
        return text
    # Backslash pairs are parked on a character the text lacks, then single escapes go: str
    # methods pair backslashes left to right like a scanner, linearly and in C.
    (pair,) = _absent(text, 1)
    return (
        text.replace("\\\\", pair)
        .replace("\\,", ",")
        .replace("\\{", "{")
        .replace("\\}", "}")
        .replace(pair, "\\")
    )


def escape(text: str, commas: bool = False) -> str:
    """The inverse of `unescape` for text we render back into a prompt."""
    text = text.replace("\\", "\\\\").replace("{", "\\{").replace("}", "\\}")
    return text.replace(",", "\\,") if commas else text


def split_unescaped_commas(text: str) -> list[str]:
    """Split on commas that are not escaped with a backslash (escapes are kept)."""
    if "\\" not in text:
        return text.split(",")
    pair, comma = _absent(text, 2)
    parked = text.replace("\\\\", pair).replace("\\,", comma)
    return [p.replace(comma, "\\,").replace(pair, "\\\\") for p in parked.split(",")]


def _parse_tree(text: str) -> _Seq:
    """Build the brace tree iteratively; raise PromptError on unbalanced or too-deep braces."""
    root: _Seq = []
    seq = root
    # Each open group: (the sequence it sits in, its options, the index where it opened).
    stack: list[tuple[_Seq, _Group, int]] = []
    pos = 0
    skip = -1
    sets = 0
    for m in _SPECIAL.finditer(text):
        i = m.start()
        if i == skip:  # the character after a backslash is taken literally
            continue
        c = m.group()
        if c == "\\":
            skip = i + 1
            continue
        if c == "," and not stack:
            continue
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
                    f"Permutation braces are nested more than {MAX_BRACE_DEPTH} deep at "
                    f"character {i + 1}; use at most {MAX_BRACE_DEPTH} levels of {{ }}.",
                    "brace_depth",
                    "permutation",
                )
            option: _Seq = []
            stack.append((seq, [option], i))
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
                    f"Permutation has a '}}' at character {i + 1} with no '{{' before it; "
                    "write {a, b} or escape it as \\}.",
                    "brace_unopened",
                    "permutation",
                )
            parent, group, _ = stack.pop()
            for opt in group:
                _trim(opt)
            parent.append(group)
            seq = parent
    if stack:
        raise PromptError(
            f"Permutation opened with '{{' at character {stack[-1][2] + 1} is never closed; "
            "write {a, b} or escape it as \\{.",
            "brace_unclosed",
            "permutation",
        )
    if pos < len(text):
        seq.append(text[pos:])
    return root


def _trim(option: _Seq) -> None:
    """Strip the whitespace around one option, keeping a space an odd backslash escapes."""
    if option and isinstance(option[0], str):
        option[0] = option[0].lstrip()
    if option and isinstance(option[-1], str):
        last = option[-1]
        stripped = last.rstrip()
        if stripped != last and (len(stripped) - len(stripped.rstrip("\\"))) % 2 == 1:
            stripped = last[: len(stripped) + 1]
        option[-1] = stripped


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
    return _count(_parse_tree(text), {})


def expand(text: str) -> list[str]:
    """Every job text of a prompt, in order (leftmost set varies slowest); at most MAX_JOBS."""
    if not has_braces(text):
        return [text]
    tree = _parse_tree(text)
    memo: dict[int, int] = {}
    count = _count(tree, memo)
    if count > MAX_JOBS:
        raise _too_many_jobs(f"{count}" if count < 10**6 else "over a million")
    return _expand(tree, memo)
