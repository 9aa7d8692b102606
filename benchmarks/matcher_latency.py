"""Per-message latency of `Matcher.match`: the whole decision (normalize, score, confident or not).

On the shipped knowledge base and on synthetic ones of 1,000 and 10,000 entries, with the dev set's messages
(questions, pasted errors, chatter, off-domain). Prints median and p99 per kind, in wall-clock time and in
CPU time of the thread (which a busy machine inflates less), and the time to build each index.

    .venv/bin/python benchmarks/matcher_latency.py [--rounds N] [--sizes 1000,10000,100000]
"""

from __future__ import annotations

import argparse
import gc
import time

from matcher_common import devset_texts, machine, shipped, summary, synthetic

from bot.matching.matcher import Matcher

KINDS = ("all", "question", "error", "chatter", "offdomain")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="passes over the dev set per knowledge base")
    parser.add_argument(
        "--sizes", type=lambda v: [int(x) for x in v.split(",")], default=[1_000, 10_000, 100_000],
        help="synthetic knowledge-base sizes, comma-separated (100,000 takes a few minutes to build)",
    )
    args = parser.parse_args()
    base = shipped()
    messages = devset_texts()
    print(machine())
    print(f"{len(messages)} dev-set messages x {args.rounds} rounds per knowledge base; times in ms\n")
    header = (
        f"{'knowledge base':<15}{'entries':>8}{'phrasings':>10}{'build s':>8}  {'kind':<10}"
        f"{'wall med':>9}{'wall p99':>9}{'cpu med':>9}{'cpu p99':>9}"
    )
    print(header)
    print("-" * len(header))
    for label, knowledge in (
        ("shipped", base),
        *((f"synthetic {size // 1000}k", synthetic(base, size)) for size in args.sizes),
    ):
        started = time.perf_counter()
        matcher = Matcher(knowledge)
        build = time.perf_counter() - started
        phrasings = sum(1 + len(e.asks) + len(e.errors) for e in knowledge.entries.values())
        wall: dict[str, list[float]] = {kind: [] for kind in KINDS}
        cpu: dict[str, list[float]] = {kind: [] for kind in KINDS}
        for _, text in messages[:20]:  # warm up
            matcher.match(text)
        gc.disable()
        for _ in range(args.rounds):
            for kind, text in messages:
                wall_start, cpu_start = time.perf_counter(), time.thread_time()
                matcher.match(text)
                cpu_ms = (time.thread_time() - cpu_start) * 1000
                wall_ms = (time.perf_counter() - wall_start) * 1000
                for key in (kind, "all"):
                    wall[key].append(wall_ms)
                    cpu[key].append(cpu_ms)
        gc.enable()
        for row, kind in enumerate(KINDS):
            wall_median, wall_p99, _ = summary(wall[kind])
            cpu_median, cpu_p99, _ = summary(cpu[kind])
            lead = f"{label:<15}{len(knowledge.entries):>8}{phrasings:>10}{build:>8.2f}" if row == 0 else " " * 41
            print(f"{lead}  {kind:<10}{wall_median:>9.3f}{wall_p99:>9.3f}{cpu_median:>9.3f}{cpu_p99:>9.3f}")


if __name__ == "__main__":
    main()
