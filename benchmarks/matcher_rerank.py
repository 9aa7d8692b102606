"""Sets each confidence level's re-ranker certainty (`tuning.LEVELS`) and measures what the re-ranker adds.

The re-ranker is trained on the development set and the tuning part of the real-world corpus
(knowledge/examples/), so its figures there would be figures on its own training data. Thresholds are chosen
on out-of-fold readings instead: each tuning thread and each development item is read by a re-ranker trained
without its fold (5 folds). The check part and the held-out set are read by the shipped re-ranker and only
reported, never used to choose.

    .venv/bin/python benchmarks/matcher_rerank.py
"""

from __future__ import annotations

import random
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.knowledge.loader import load_knowledge
from bot.matching.matcher import Matcher, Readings
from bot.matching.reranker import Reranker
from bot.matching.tuning import LEVELS, Level
from bot.settings import DEFAULT_KNOWLEDGE_DIR, Confidence
from tests.matching.realworld import load_posts, load_split, part

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
FOLDS = 5
GRID = [x / 10 for x in range(-5, 31)]
# What each level must keep on the out-of-fold readings, and then answers as much as it can.
BOUNDS = {
    Confidence.STRICT: {"wrong": 0.015, "off": 0.99, "chatter": 0.995},
    Confidence.NORMAL: {"wrong": 0.03, "off": 0.97, "chatter": 0.995},
    Confidence.RELAXED: {"wrong": 0.05, "off": 0.96, "chatter": 0.99},
}


@dataclass
class Read:
    kind: str  # mail, offdomain, chatter, uncovered
    expect: tuple[str, ...]
    readings: Readings
    lexical: Readings


def items() -> tuple[list[tuple[str, str, tuple[str, ...], str]], list[Any], list[Any]]:
    """(group, kind, expected entries, text) for the tuning part and the development set; then check, holdout."""
    posts = load_posts()
    split = load_split()
    rows = [(p.thread, p.kind, p.expect, p.text) for p in part(posts, "tune", split)]
    devset: Any = yaml.safe_load((DATA / "devset.yaml").read_text(encoding="utf-8"))
    for i, item in enumerate(devset):
        kind = "mail" if item.get("expect") else ("chatter" if item["kind"] == "chatter" else "offdomain")
        rows.append((f"dev-{i}", kind, (item["expect"],) if item.get("expect") else (), item["text"]))
    holdout: Any = yaml.safe_load((DATA / "holdout.yaml").read_text(encoding="utf-8"))
    return rows, part(posts, "check", split), holdout


def figures(reads: list[Read], level: Level, *, lexical_only: bool = False) -> dict[str, float]:
    def confident(r: Read) -> bool:
        return (r.lexical if lexical_only else r.readings).confident(level)

    def best(r: Read) -> str | None:
        scored = (r.lexical if lexical_only else r.readings).scored
        return scored[0].entry.id if scored else None

    mail = [r for r in reads if r.kind == "mail"]
    off = [r for r in reads if r.kind in {"offdomain", "uncovered"}]
    chatter = [r for r in reads if r.kind == "chatter"]
    share = lambda hits, whole: hits / len(whole) if whole else 1.0  # noqa: E731
    return {
        "top1": share(sum(best(r) in r.expect for r in mail), mail),
        "right": share(sum(confident(r) and best(r) in r.expect for r in mail), mail),
        "wrong": share(sum(confident(r) and best(r) not in r.expect for r in mail), mail),
        "off": share(sum(not confident(r) for r in off), off),
        "chatter": share(sum(not confident(r) for r in chatter), chatter),
    }


def line(name: str, f: dict[str, float]) -> str:
    return (
        f"{name:<34} top-1 {f['top1']:6.1%}  confident+right {f['right']:6.1%}  confident+wrong {f['wrong']:5.1%}"
        f"  off-domain silent {f['off']:6.1%}  chatter silent {f['chatter']:6.1%}"
    )


def main() -> None:
    knowledge = load_knowledge(DEFAULT_KNOWLEDGE_DIR)
    lexical = Matcher(knowledge, reranker=None)
    rows, check, holdout = items()
    groups = sorted({group for group, *_ in rows})
    random.Random(7).shuffle(groups)
    fold_of = {group: i % FOLDS for i, group in enumerate(groups)}
    oof: list[Read] = []
    for fold in range(FOLDS):
        held = [row for row in rows if fold_of[row[0]] == fold]
        held_texts = {text.strip() for *_, text in held}
        examples = [e for e in knowledge.examples if e.text.strip() not in held_texts]
        matcher = Matcher(knowledge, reranker=Reranker.train(knowledge, examples))
        for _, kind, expect, text in held:
            oof.append(Read(kind, expect, matcher.read(text), lexical.read(text)))
        print(f"fold {fold + 1}/{FOLDS}: {len(held)} read, trained on {len(examples)} examples", flush=True)
    matcher = Matcher(knowledge)
    check_reads = [Read(p.kind, p.expect, matcher.read(p.text), lexical.read(p.text)) for p in check]
    holdout_reads = []
    for item in holdout:
        kind = "mail" if item.get("expect") else ("chatter" if item["kind"] == "chatter" else "offdomain")
        expect = (item["expect"],) if item.get("expect") else ()
        holdout_reads.append(Read(kind, expect, matcher.read(item["text"]), lexical.read(item["text"])))
    chosen_normal: float | None = None
    # Normal first: strict must never answer what normal would not, nor relaxed stay silent where normal answers.
    for level_name in (Confidence.NORMAL, Confidence.STRICT, Confidence.RELAXED):
        current = LEVELS[level_name]
        # The lexical answers alone (no re-ranker certainty) may already miss the wrong-answer bound on posts
        # harder than those it was written from: then the bound is what they reach, and certainty may add none.
        lexical_wrong = figures(oof, Level(current.probability, float("inf")))["wrong"]
        bounds = {**BOUNDS[level_name], "wrong": max(BOUNDS[level_name]["wrong"], lexical_wrong)}
        best_t, best_right = None, -1.0
        for t in GRID:
            strict = level_name is Confidence.STRICT
            if chosen_normal is not None and (t < chosen_normal if strict else t > chosen_normal):
                continue
            f = figures(oof, Level(current.probability, t))
            if all((f[k] <= v) if k == "wrong" else (f[k] >= v) for k, v in bounds.items()) and f["right"] > best_right:
                best_t, best_right = t, f["right"]
        chosen = Level(current.probability, best_t if best_t is not None else float("inf"))
        if level_name is Confidence.NORMAL:
            chosen_normal = chosen.certainty
        print(f"\n{level_name}: certainty {best_t} (shipped {current.certainty}), bounds {bounds}")
        print(line("  out-of-fold (tune + dev), lexical", figures(oof, chosen, lexical_only=True)))
        print(line("  out-of-fold (tune + dev), both", figures(oof, chosen)))
        print(line("  check part, lexical", figures(check_reads, chosen, lexical_only=True)))
        print(line("  check part, both", figures(check_reads, chosen)))
        print(line("  held-out set, lexical", figures(holdout_reads, chosen, lexical_only=True)))
        print(line("  held-out set, both", figures(holdout_reads, chosen)))


if __name__ == "__main__":
    main()
