"""Throughput of the passive-mode decision (answer unasked or stay silent) over a stream of channel messages.

The stream mixes the dev set's messages in the proportions a help channel might see them: mostly chatter and
other talk, some questions, some pasted errors. Prints messages per second and the share answered.

    .venv/bin/python benchmarks/matcher_throughput.py [--messages N]
"""

from __future__ import annotations

import argparse
import random
import time

from matcher_common import devset_texts, machine, shipped

from bot.matching.matcher import Matcher
from bot.settings import Confidence

# A help channel: a good deal of chatter and unrelated talk between the questions.
MIX = {"chatter": 0.45, "offdomain": 0.15, "question": 0.25, "error": 0.15}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    args = parser.parse_args()
    rng = random.Random(11)
    by_kind: dict[str, list[str]] = {}
    for kind, text in devset_texts():
        by_kind.setdefault(kind, []).append(text)
    kinds = list(MIX)
    stream = [rng.choice(by_kind[k]) for k in rng.choices(kinds, weights=[MIX[k] for k in kinds], k=args.messages)]
    matcher = Matcher(shipped())
    print(machine())
    print(f"stream of {len(stream)} messages: " + ", ".join(f"{k} {v:.0%}" for k, v in MIX.items()) + "\n")
    print(f"{'level':<9}{'messages/s':>12}{'us/message':>12}{'answered':>10}")
    for level in (Confidence.STRICT, Confidence.NORMAL, Confidence.RELAXED):
        started = time.perf_counter()
        answered = sum(matcher.match(text, level=level).confident for text in stream)
        elapsed = time.perf_counter() - started
        rate, each = len(stream) / elapsed, elapsed / len(stream) * 1e6
        print(f"{level.value:<9}{rate:>12,.0f}{each:>12.1f}{answered / len(stream):>10.1%}")


if __name__ == "__main__":
    main()
