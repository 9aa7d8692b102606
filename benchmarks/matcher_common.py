"""Shared by the matcher benchmarks: the shipped knowledge, synthetic knowledge bases, the dev-set messages,
and a description of the machine. Run them from the repository root, e.g.
`.venv/bin/python benchmarks/matcher_latency.py`.
"""

from __future__ import annotations

import os
import platform
import random
import statistics
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.knowledge.loader import load_knowledge  # noqa: E402
from bot.knowledge.model import Entry, KnowledgeBase  # noqa: E402

DEVSET = ROOT / "tests" / "data" / "devset.yaml"


def shipped() -> KnowledgeBase:
    return load_knowledge(ROOT / "knowledge")


def devset_texts() -> list[tuple[str, str]]:
    """(kind, text) for every dev-set item: questions, pasted errors, chatter, off-domain near misses."""
    raw: Any = yaml.safe_load(DEVSET.read_text(encoding="utf-8"))
    return [(str(row["kind"]), str(row["text"])) for row in raw]


def synthetic(base: KnowledgeBase, size: int, seed: int = 7) -> KnowledgeBase:
    """`size` entries that look like the shipped ones: the shipped entries, then variants whose phrasings mix
    the shipped vocabulary with new words, so the vocabulary grows with the size as a real one would."""
    rng = random.Random(seed)
    originals = [base.entries[k] for k in sorted(base.entries)]
    shipped_words = sorted({w for e in originals for a in (*e.asks, e.title) for w in a.split() if w.isalpha()})
    new_words = [
        f"{rng.choice('bcdfgklmnprstvz')}{rng.choice('aeiou')}{rng.choice('klmnrst')}{i}x" for i in range(size)
    ]
    entries: dict[str, Entry] = {e.id: e for e in originals[:size]}
    while len(entries) < size:
        model = rng.choice(originals)
        n = len(entries)

        def phrase(length: int) -> str:
            words = [rng.choice(shipped_words) for _ in range(length)]
            words[rng.randrange(length)] = rng.choice(new_words)
            return " ".join(words)

        errors = tuple(f"{phrase(rng.randint(4, 8))} 0x{rng.getrandbits(32):08X}" for _ in range(rng.randint(0, 2)))
        entries[f"synthetic-{n}"] = replace(
            model,
            id=f"synthetic-{n}",
            title=phrase(rng.randint(3, 6)),
            asks=tuple(phrase(rng.randint(2, 7)) for _ in range(rng.randint(4, 8))),
            errors=errors,
            tags=tuple(rng.sample(shipped_words, 2)),
        )
    return KnowledgeBase(entries=entries, ports=base.ports, providers=base.providers, root=base.root)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def summary(values: list[float]) -> tuple[float, float, float]:
    """Median, p99 and mean."""
    return statistics.median(values), percentile(values, 0.99), statistics.fmean(values)


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return (
        f"{os.cpu_count()} CPUs ({model}), Python {platform.python_version()}, "
        f"load average {load[0]:.2f} (a busy machine inflates every figure)"
    )
