"""Prompt parser throughput on a realistic mix, and the worst time on adversarial inputs.

Run: `python benchmarks/bench_prompt.py`. Goals (issue 4): >= 20,000 typical prompts/s on one
core; no single input of up to 6000 characters over 10 ms.
"""

from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere

from inference.prompt import MAX_PROMPT_CHARS, PromptError, parse_jobs

TYPICAL = [
    "a cat",
    "🐈",
    "a lighthouse on a cliff at dusk, oil painting --ar 16:9 --s 250",
    "portrait of an old sailor, dramatic lighting --ar 2:3 --v 6.1 --style raw --seed 1234",
    "hot::2 dog --no ketchup, mustard --q .5",
    "still life painting:: fruit::-.5 --chaos 30",
    "https://cdn.example.com/a.png a watercolor fox in the snow --iw 1.5 --ar 3:2",
    "isometric game tile, grass and stones --tile --s 50 --fast",
    "cyberpunk street market at night, neon reflections, rain —ar 21:9 —s 750",
    "a {red, green, blue} bird on a branch --ar {1:1, 3:2}",
    "cat + dog + bird, children's book illustration --niji 6 --style cute",
    "minimalist logo of a mountain --no text, letters --stylize 0 --relax",
    "macro photo of a dew drop on a leaf --q 2 --stop 80 --weird 250",
    "a knight --sref https://cdn.example.com/style.png --sw 300 --cref https://x.io/k.png --cw 50",
    "astronaut riding a horse --ar 1920:1080 --repeat 4 --AR=1:1".replace(" --AR=1:1", ""),
    "a --chaos 150",  # a typical mistake: out of range
    "a dog --ar16:9",  # a typical mistake: glued value
]

ADVERSARIAL = {
    "deep_braces_nested_10": "{" * 10 + "a" + "}" * 10 + " x" * 2985,
    "deep_braces_3000": "{" * 3000 + "}" * 3000,
    "braces_unclosed_6000": "{" * MAX_PROMPT_CHARS,
    "brace_sets_exploding": "{a,b}" * 1200,
    "brace_commas": "{" + "," * 5998 + "}",
    "escaped_commas": "{" + "a\\," * 1999 + "}",
    "colons_3000": "::" * 3000,
    "weights_2000": "a::2 " * 1200,
    "colon_runs": ":" * MAX_PROMPT_CHARS,
    "weights_neg": "a::-1 " * 1000,
    "dashes_6000": "-" * MAX_PROMPT_CHARS,
    "em_dashes_6000": "\u2014" * MAX_PROMPT_CHARS,
    "dash_letter_runs": "--a" * 2000,
    "spaced_dashes": " --" * 2000,
    "many_flags": "x" + " --tile" * 857,
    "many_unknown_flags": "x" + " --zz" * 1199,
    "long_no_list": "x --no " + "a, " * 1997,
    "plus_runs": "a + " * 1500,
    "whitespace": " " * (MAX_PROMPT_CHARS - 1) + "a",
    "images_1000": "https://x.io/a.png " * 315,
    "backslashes": "\\" * MAX_PROMPT_CHARS,
    "huge_number": "a --seed " + "9" * 5990,
    "huge_weight": "a::" + "9" * 5990,
    "single_option_groups": "{a}" * 2000,
    "forty_jobs_many_groups": "{1,2,3,4,5,6,7,8} {a,b,c,d,e}" + "{x}" * 1980,
    "nested_single_options": ("{" * 10 + "a" + "}" * 10) * 285,
    "forty_jobs_long": "{1,2,3,4,5,6,7,8} {a,b,c,d,e} " + "word " * 1190,
}


# 40 permutation jobs, each as long as the 60,000-character total for all jobs allows, and as
# dense as the per-job limits allow: the real worst cases once the cheap limits have spoken.
_FORTY = "{1,2,3,4,5,6,7,8}{a,b,c,d,e} "
_PER_JOB = 60_000 // 40 - len(_FORTY)
for _name, _unit in {
    "forty_jobs_words": "word ",
    "forty_jobs_concepts": "a::2 " + "w" * 32,
    "forty_jobs_plus": "a + " + "w" * 33,
    "forty_jobs_spaced_dashes": " -- ",
    "forty_jobs_glued_dashes": "x--a",
    "forty_jobs_escapes": "\\,",
    "forty_jobs_whitespace": " ",
}.items():
    ADVERSARIAL[_name] = _FORTY + _unit * (_PER_JOB // len(_unit))
ADVERSARIAL["forty_jobs_no_items"] = _FORTY + "x --no " + "ab, " * 49 + "w" * 1100
ADVERSARIAL["forty_jobs_flags"] = _FORTY + "x --ar 16:9 --s 50 --c 5 --q 2 --tile --seed 1 " * 1


def throughput(seconds: float = 2.0) -> float:
    n = 0
    start = time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        for prompt in TYPICAL:
            with contextlib.suppress(PromptError):
                parse_jobs(prompt)
        n += len(TYPICAL)
    return n / (time.perf_counter() - start)


def worst(repeats: int = 5) -> list[tuple[float, str, str]]:
    rows = []
    for name, text in ADVERSARIAL.items():
        assert len(text) <= MAX_PROMPT_CHARS, name
        best = float("inf")
        outcome = "ok"
        for _ in range(repeats):
            start = time.perf_counter()
            try:
                parse_jobs(text)
                outcome = "ok"
            except PromptError as exc:
                outcome = exc.code
            best = min(best, time.perf_counter() - start)
        rows.append((best * 1000, name, outcome))
    return sorted(rows, reverse=True)


def main() -> None:
    rate = throughput()
    print(
        f"typical mix ({len(TYPICAL)} prompts, one permutation, two errors): {rate:,.0f} prompts/s"
    )
    rows = worst()
    for ms, name, outcome in rows:
        print(f"  {ms:7.3f} ms  {name:24} {outcome}")
    print(
        f"worst adversarial input (<= {MAX_PROMPT_CHARS} chars): {rows[0][0]:.3f} ms ({rows[0][1]})"
    )


if __name__ == "__main__":
    main()
