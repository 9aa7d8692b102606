"""The real-world corpus (tests/data/realworld/): real public posts, their sources, and the split into a tuning
and a check part. Shared by tests/matching/test_realworld.py and benchmarks/matcher_quality.py.

Each post's thread is in `split.yaml` as `tune` or `check`; all posts of a thread share its part, so a check
post never has a sibling in the tuning part. The split was drawn once, stratified by each thread's expected
entry (see `assign_split`), and is frozen: threads added later are assigned by the same rule, counting the threads
already placed, and appended.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from bot.settings import Confidence

if TYPE_CHECKING:
    from collections.abc import Iterable

    from bot.matching.matcher import Matcher, MatchResult

CORPUS = Path(__file__).resolve().parents[1] / "data" / "realworld"
SPLIT = CORPUS / "split.yaml"
KINDS = {"mail", "uncovered", "offdomain"}
CHECK_SHARE = 0.4


@dataclass(frozen=True)
class Post:
    id: str
    source: str
    thread: str
    kind: str
    expect: tuple[str, ...]
    must_state: str
    text: str
    file: str


def load_posts(folder: Path = CORPUS) -> list[Post]:
    posts: list[Post] = []
    for path in sorted(folder.glob("*.yaml")):
        if path.name == SPLIT.name:
            continue
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
        for row in raw:
            posts.append(
                Post(
                    id=str(row["id"]),
                    source=str(row["source"]),
                    thread=str(row.get("thread") or row["source"]),
                    kind=str(row["kind"]),
                    expect=tuple(row.get("expect") or ()),
                    must_state=str(row.get("must_state", "")),
                    text=str(row["text"]),
                    file=path.name,
                )
            )
    return posts


def load_split(path: Path = SPLIT) -> dict[str, str]:
    raw: Any = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else None
    return {str(thread): str(part) for thread, part in (raw or {}).items()}


def _rank_key(thread: str) -> str:
    return hashlib.sha256(thread.encode()).hexdigest()


def assign_split(posts: Iterable[Post], known: dict[str, str] | None = None) -> dict[str, str]:
    """Threads grouped by their first post's expected entry (or kind); a group's new threads, ordered by a hash of
    the URL, go to `check` while the group holds fewer check threads than 40 % of its threads, rounded down.

    On an empty `known` this is the rule the split was first drawn by (2 of 5, 3 of 8). Counting the group's
    threads already placed keeps its share when threads come a few at a time: judging each batch on its own sent
    every batch of one or two threads to `tune`, so thin topics never gained check posts."""
    split = dict(known or {})
    group_of: dict[str, str] = {}
    for post in posts:
        group_of.setdefault(post.thread, post.expect[0] if post.expect else post.kind)
    groups: dict[str, list[str]] = defaultdict(list)
    for thread, group in group_of.items():
        groups[group].append(thread)
    for threads in groups.values():
        placed = sum(thread in split for thread in threads)
        in_check = sum(split.get(thread) == "check" for thread in threads)
        for thread in sorted((t for t in threads if t not in split), key=_rank_key):
            placed += 1
            if in_check < int(placed * CHECK_SHARE):
                split[thread] = "check"
                in_check += 1
            else:
                split[thread] = "tune"
    return split


@dataclass
class Figures:
    positives: int = 0
    top1: int = 0
    confident_right: int = 0
    confident_wrong: int = 0
    offdomain: int = 0
    offdomain_silent: int = 0
    uncovered: int = 0
    uncovered_silent: int = 0
    misses: list[str] = field(default_factory=list)

    def rate(self, part: int, whole: int) -> float:
        return part / whole if whole else 1.0

    @property
    def rates(self) -> dict[str, float]:
        return {
            "top1": self.rate(self.top1, self.positives),
            "confident_right": self.rate(self.confident_right, self.positives),
            "confident_wrong": self.rate(self.confident_wrong, self.positives),
            "offdomain_silent": self.rate(self.offdomain_silent, self.offdomain),
            "uncovered_silent": self.rate(self.uncovered_silent, self.uncovered),
        }

    def line(self, name: str) -> str:
        r = self.rates
        return (
            f"{name}: top-1 {r['top1']:.1%} | confident and right {r['confident_right']:.1%} | confident but "
            f"wrong {r['confident_wrong']:.1%} ({self.positives} posts the knowledge covers) | off-domain left "
            f"alone {r['offdomain_silent']:.1%} ({self.offdomain}) | uncovered left alone "
            f"{r['uncovered_silent']:.1%} ({self.uncovered})"
        )


def measure(
    matcher: Matcher, posts: Iterable[Post], level: Confidence = Confidence.NORMAL
) -> tuple[Figures, list[tuple[Post, MatchResult]]]:
    figures = Figures()
    results: list[tuple[Post, MatchResult]] = []
    for post in posts:
        result = matcher.match(post.text, level=level)
        results.append((post, result))
        best = result.best.entry.id if result.best is not None else None
        if post.kind == "offdomain":
            figures.offdomain += 1
            figures.offdomain_silent += not result.confident
            if result.confident:
                figures.misses.append(f"OFF {post.id} answered {best}: {post.text[:90]!r}")
        elif post.kind == "uncovered":
            figures.uncovered += 1
            figures.uncovered_silent += not result.confident
        else:
            figures.positives += 1
            right = best in post.expect
            figures.top1 += right
            figures.confident_right += right and result.confident
            figures.confident_wrong += (not right) and result.confident
            if not (right and result.confident):
                tag = "WRONG" if result.confident else "top1-unsure" if right else "miss"
                score = result.best.score if result.best is not None else 0.0
                figures.misses.append(
                    f"{tag} {post.id} want {post.expect[0]} got {best} ({score}): {post.text[:90]!r}"
                )
    return figures, results


def part(posts: Iterable[Post], name: str, split: dict[str, str] | None = None) -> list[Post]:
    split = split if split is not None else load_split()
    return [p for p in posts if split.get(p.thread) == name]


def titles(posts: Iterable[Post]) -> list[Post]:
    """Each post cut to its first line: how a post reads when only its title is pasted."""
    return [replace(p, text=p.text.strip().split("\n")[0]) for p in posts]
