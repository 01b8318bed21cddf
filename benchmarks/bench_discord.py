"""Discord traffic benchmark: REST calls per job and edit rates, against the local fake Discord.

Run: python benchmarks/bench_discord.py [--users 8] [--steps 20]

The real bot (discord.py, SQLite, the tiny model on CPU) serves `--users` members who each
run one /imagine at once in the same channel; every job renders `--steps` denoising steps.
Reported: REST calls per job (all, and without the result upload), progress edits per job,
the shortest gap between two edits of one message (goal >= 1 s), and the most edits in any
5 s window of the channel (Discord allows about 5). Goal: <= 10 calls per 20-step grid
besides the upload.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
from collections import defaultdict
from dataclasses import replace
from itertools import pairwise
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


from inference.presets import PRESETS
from testing.benchbot import served


async def run(users: int, steps: int) -> None:
    # 128 px: a render long enough for progress edits to show, as on a real GPU.
    PRESETS["tiny"] = replace(PRESETS["tiny"], default_steps=steps, native_size=128)
    async with served(users, max_running_jobs=1) as world:
        fake = world.fake
        since = fake.clock.now()
        interactions = await asyncio.gather(
            *(
                fake.slash(member, world.channel, "imagine", prompt=f"fox number {n} --seed {n}")
                for n, member in enumerate(world.members)
            )
        )
        for inter in interactions:
            await inter.wait_for_response()
        await fake.wait_for(
            lambda: all(i.original.attachments and i.original.components for i in interactions),
            timeout=600,
        )
        calls = fake.rest_calls(since)
    report(calls, interactions, steps)


def report(calls, interactions, steps: int) -> None:
    jobs = len(interactions)
    # A message's edits share a path: the interaction's webhook (token in the path) or the
    # channel message (its id in the path).
    edits_by_message: defaultdict[str, list[float]] = defaultdict(list)
    for call in calls:
        if call.method == "PATCH":
            edits_by_message[call.path].append(call.time)
    per_job = len(calls) / jobs
    print(f"{jobs} jobs of {steps} steps at once, one channel:")
    print(f"  REST calls per job: {per_job:.1f} (all), {per_job - 1:.1f} besides the upload")
    edits = [len(times) for times in edits_by_message.values()]
    print(f"  edits per job message: median {statistics.median(edits)}, max {max(edits)}")
    gaps = [b - a for times in edits_by_message.values() for a, b in pairwise(times)]
    print(f"  shortest gap between two edits of one message: {min(gaps, default=0):.2f} s")
    times = sorted(t for times in edits_by_message.values() for t in times)
    busiest = max((sum(1 for t in times if s <= t < s + 5) for s in times), default=0)
    print(
        f"  most edits in any 5 s of the channel: {busiest} (results included; progress "
        "edits are held to 4 per 5 s, results are never held back by the channel budget)"
    )
    statuses = defaultdict(int)
    for call in calls:
        statuses[call.status] += 1
    print(f"  responses by status: {dict(sorted(statuses.items()))}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=8)
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(run(args.users, args.steps))


if __name__ == "__main__":
    main()
