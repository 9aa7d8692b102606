"""Memory of the matcher's index (tracemalloc): peak while building, size kept afterwards, and the peak of
matching the dev set, on the shipped knowledge base and on synthetic ones of 1,000 and 10,000 entries.

    .venv/bin/python benchmarks/matcher_memory.py
"""

from __future__ import annotations

import argparse
import gc
import tracemalloc

from matcher_common import devset_texts, machine, shipped, synthetic

from bot.matching.matcher import Matcher

MB = 1024 * 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", type=lambda v: [int(x) for x in v.split(",")], default=[1_000, 10_000, 100_000],
        help="synthetic knowledge-base sizes, comma-separated",
    )
    args = parser.parse_args()
    base = shipped()
    messages = [text for _, text in devset_texts()]
    print(machine())
    print(f"\n{'knowledge base':<16}{'entries':>8}{'build peak MB':>15}{'index kept MB':>15}", end="")
    print(f"{'match peak MB':>15}")
    for label, knowledge in (
        ("shipped", base),
        *((f"synthetic {size // 1000}k", synthetic(base, size)) for size in args.sizes),
    ):
        gc.collect()
        tracemalloc.start()
        matcher = Matcher(knowledge)
        gc.collect()
        kept, build_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        for text in messages:
            matcher.match(text)
        _, match_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(
            f"{label:<16}{len(knowledge.entries):>8}{build_peak / MB:>15.1f}{kept / MB:>15.1f}"
            f"{(match_peak - kept) / MB:>15.2f}"
        )
        del matcher


if __name__ == "__main__":
    main()
