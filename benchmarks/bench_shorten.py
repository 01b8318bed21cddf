"""/shorten benchmark: the word weights of a 75-token prompt (inference.shorten.word_weights:
one forward pass with attention weights) against a bare forward pass of the same encoder,
and against the exact way (one encoder run per dropped word), in one process.

Run: python benchmarks/bench_shorten.py [--repeats 10] [--threads N]

The encoder has the full size of CLIP ViT-L/14's text tower (SD 1.5's, and SDXL's and Flux's
first; 123M parameters) with random weights (no download): the arithmetic is the real one.
Each word is one token, so the prompt is 75 words: the encoder's whole length.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

WORDS = 75


class OneTokenPerWord:
    """A tokenizer stand-in with CLIP's shape: start and end tokens, 77 positions."""

    model_max_length = 77
    bos_token_id = 49406
    eos_token_id = 49407

    def __call__(self, word: str, add_special_tokens: bool = False) -> dict[str, list[int]]:
        return {"input_ids": [sum(map(ord, word)) * 31 % 49000 + 100]}


def _timed(work, repeats: int) -> float:
    work()  # warm up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    args = parser.parse_args()
    import torch
    from transformers import CLIPTextConfig, CLIPTextModel

    from inference.shorten import _token_ids, word_weights

    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    encoder = CLIPTextModel(CLIPTextConfig()).eval()  # the defaults are CLIP-L's text tower
    tokenizer = OneTokenPerWord()
    words = [f"word{n}" for n in range(WORDS)]
    ids, _ = _token_ids(tokenizer, words)
    tokens = torch.tensor([ids])

    def bare() -> None:
        with torch.no_grad():
            encoder(tokens)

    def dropping_each_word() -> None:
        batch = torch.tensor([ids[: i + 1] + ids[i + 2 :] for i in range(WORDS)])
        with torch.no_grad():
            encoder(batch)

    bare_s = _timed(bare, args.repeats)
    weights_s = _timed(lambda: word_weights(encoder, tokenizer, words), args.repeats)
    exact_s = _timed(dropping_each_word, max(1, args.repeats // 5))
    print(f"CLIP-L text encoder, {len(ids)} tokens, {torch.get_num_threads()} threads, median")
    print(f"bare forward pass:          {bare_s * 1000:8.1f} ms")
    print(
        f"word weights (rollout):     {weights_s * 1000:8.1f} ms  ({weights_s / bare_s:.2f}x bare)"
    )
    print(f"dropping each word (exact): {exact_s * 1000:8.1f} ms  ({exact_s / bare_s:.2f}x bare)")


if __name__ == "__main__":
    main()
