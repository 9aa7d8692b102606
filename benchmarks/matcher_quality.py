"""Quality and cost of the shipped matcher against two plain alternatives, on the real-world corpus.

- shipped: `Matcher.match` at normal confidence.
- BM25 (the `bm25s` library) over each entry as one document (title, asks, errors, tags, answer), with the
  project's own tokens; confident when the best score reaches a threshold chosen on the tuning part (the lowest
  at which confident-but-wrong stays ≤ 2 % and off-domain answered ≤ 3 %).
- WRatio: rapidfuzz `WRatio` of the message against every phrasing; confident at a score of 60 or more (the plain
  approach the first version of the bot was compared with).

Reported for the tuning and the check parts, whole posts and titles alone (each post cut to its first line):
top-1, confident and right, confident but wrong, off-domain left alone; and the median time per message.

    .venv/bin/pip install bm25s   # only for this benchmark
    .venv/bin/python benchmarks/matcher_quality.py
"""

from __future__ import annotations

import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import bm25s  # noqa: E402
from matcher_common import machine  # noqa: E402
from rapidfuzz import fuzz, process  # noqa: E402

from bot.knowledge.loader import load_knowledge  # noqa: E402
from bot.matching.matcher import Matcher  # noqa: E402
from bot.matching.normalize import normalize  # noqa: E402
from tests.matching.realworld import Post, load_posts, load_split, measure, part, titles  # noqa: E402


@dataclass(frozen=True)
class _Entry:
    id: str


@dataclass(frozen=True)
class _Best:
    entry: _Entry
    score: float


@dataclass(frozen=True)
class _Result:
    best: _Best | None
    confident: bool


class Bm25:
    def __init__(self, matcher: Matcher, knowledge: Any) -> None:
        self.analyze = matcher._index.analyzer.analyze  # the project's tokens, so that only the ranking differs
        self.ids = sorted(knowledge.entries)
        corpus = []
        for entry_id in self.ids:
            entry = knowledge.entries[entry_id]
            texts = [entry.title, *entry.asks, *entry.errors, *entry.tags, *entry.answer.splitlines()]
            corpus.append([t for text in texts for t in self.terms(text)])
        self.retriever = bm25s.BM25()
        self.retriever.index(corpus, show_progress=False)
        self.threshold = float("inf")

    def terms(self, text: str) -> list[str]:
        return list(self.analyze(normalize(text), correct=True).terms)

    def match(self, text: str, level: object = None) -> _Result:
        terms = [t for t in self.terms(text) if t in self.retriever.vocab_dict] or ["\0"]
        if terms == ["\0"]:
            return _Result(None, confident=False)
        docs, scores = self.retriever.retrieve([terms], k=1, show_progress=False)
        score = float(scores[0][0])
        if score <= 0:
            return _Result(None, confident=False)
        return _Result(_Best(_Entry(self.ids[int(docs[0][0])]), score), confident=score >= self.threshold)


class WRatio:
    def __init__(self, knowledge: Any) -> None:
        self.texts: list[str] = []
        self.owner: list[str] = []
        for entry in knowledge.entries.values():
            for text in (entry.title, *entry.asks, *entry.errors):
                self.texts.append(text.casefold())
                self.owner.append(entry.id)

    def match(self, text: str, level: object = None) -> _Result:
        found = process.extractOne(text.casefold()[:2000], self.texts, scorer=fuzz.WRatio)
        if found is None:
            return _Result(None, confident=False)
        _, score, position = found
        return _Result(_Best(_Entry(self.owner[position]), score), confident=score >= 60)


def choose_threshold(bm25: Bm25, tune: list[Post]) -> float:
    scored = []
    for post in tune:
        result = bm25.match(post.text)
        if result.best is not None:
            scored.append((result.best.score, post.kind, result.best.entry.id in post.expect))
    mail = sum(1 for p in tune if p.kind == "mail")
    off = sum(1 for p in tune if p.kind != "mail")
    for threshold in sorted({s for s, _, _ in scored}):
        wrong = sum(1 for s, k, right in scored if s >= threshold and k == "mail" and not right) / mail
        answered = sum(1 for s, k, _ in scored if s >= threshold and k != "mail") / off
        if wrong <= 0.02 and answered <= 0.03:
            return threshold
    return float("inf")


def timed(matcher: Any, posts: list[Post]) -> float:
    times = []
    for post in posts:
        started = time.perf_counter()
        matcher.match(post.text)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    knowledge = load_knowledge(ROOT / "knowledge")
    posts, split = load_posts(), load_split()
    tune, check = part(posts, "tune", split), part(posts, "check", split)
    title = titles(check)
    shipped = Matcher(knowledge)
    bm25 = Bm25(shipped, knowledge)
    bm25.threshold = choose_threshold(bm25, tune)
    alternatives = {
        "shipped matcher": shipped,
        f"BM25 (≥ {bm25.threshold:.2f})": bm25,
        "WRatio ≥ 60": WRatio(knowledge),
    }
    print(machine())
    print(f"{len(tune)} tuning and {len(check)} check posts; {len(knowledge.entries)} entries\n")
    header = (
        f"{'matcher':<22}{'part':<14}{'top-1':>7}{'conf+right':>11}{'conf+wrong':>11}{'off silent':>11}{'ms/msg':>8}"
    )
    print(header)
    print("-" * len(header))
    for name, matcher in alternatives.items():
        for part_name, items in (("tune", tune), ("check", check), ("check titles", title)):
            figures, _ = measure(matcher, items)  # type: ignore[arg-type]
            r = figures.rates
            print(
                f"{name:<22}{part_name:<14}{r['top1']:>7.1%}{r['confident_right']:>11.1%}"
                f"{r['confident_wrong']:>11.1%}{r['offdomain_silent']:>11.1%}{timed(matcher, items):>8.2f}"
            )


if __name__ == "__main__":
    main()
