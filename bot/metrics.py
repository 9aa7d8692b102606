"""The bot's counters and its answer-latency histogram, kept in memory; `bot/health.py` publishes them.

Core: no Discord here. The cogs update them, for example::

    bot.metrics.inc("messages_seen")               # by short name, see Metrics.inc
    bot.metrics.votes.inc(vote="helpful")          # or through the counter itself
    with bot.metrics.answer_latency.time():
        ...                                        # match and send the answer

Everything is updated from the event loop's thread, so no locking.
"""

from __future__ import annotations

import math
import re
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

PREFIX = "guidenest_"
# Seconds from reading a message to the answer being sent, Discord's round trip included.
LATENCY_BUCKETS: tuple[float, ...] = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

# Why a reply was lost: 429s past the retries, 5xx past the retries, no permission, any other refusal.
LOST_REASONS: tuple[str, ...] = ("rate_limited", "server_error", "forbidden", "refused")
# What became of an image attachment: read, nothing read, or why it was refused (bot.ocr.Refusal's values).
SCREENSHOT_OUTCOMES: tuple[str, ...] = (
    "read",
    "nothing_read",
    "not_an_image",
    "too_large",
    "damaged",
    "too_slow",
    "host_not_allowed",
    "download_failed",
)

_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")

LabelValues = tuple[str, ...]


class Counter:
    """A count that only goes up, optionally split by labels (a small, fixed set of values each)."""

    kind = "counter"

    def __init__(
        self,
        name: str,
        help_text: str,
        labelnames: tuple[str, ...] = (),
        known: Iterable[LabelValues] = (),
    ) -> None:
        if not _NAME.match(name) or not all(_LABEL.match(label) for label in labelnames):
            raise ValueError(f"invalid metric or label name in {name} {labelnames}")
        self.name = name
        self.help_text = help_text
        self.labelnames = labelnames
        self._values: dict[LabelValues, float] = {}
        # Label values listed up front are shown at 0, so a dashboard sees the series before the first event.
        for values in known:
            self._values[self._key(dict(zip(labelnames, values, strict=True)))] = 0.0
        if not labelnames:
            self._values[()] = 0.0

    def _key(self, labels: dict[str, str]) -> LabelValues:
        if set(labels) != set(self.labelnames):
            wanted = ", ".join(self.labelnames) or "no labels"
            raise ValueError(f"{self.name} takes {wanted}, got {', '.join(labels) or 'none'}")
        return tuple(str(labels[name]) for name in self.labelnames)

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        if amount < 0:
            raise ValueError("a counter only goes up")
        key = self._key(labels)
        self._values[key] = self._values.get(key, 0.0) + amount

    def value(self, **labels: str) -> float:
        return self._values.get(self._key(labels), 0.0)

    def samples(self) -> list[tuple[dict[str, str], float]]:
        return [(dict(zip(self.labelnames, key, strict=True)), value) for key, value in self._values.items()]


class Histogram:
    """Observations counted into cumulative buckets, with their sum and count (Prometheus' histogram)."""

    kind = "histogram"

    def __init__(self, name: str, help_text: str, buckets: Iterable[float] = LATENCY_BUCKETS) -> None:
        if not _NAME.match(name):
            raise ValueError(f"invalid metric name {name}")
        bounds = sorted(set(buckets))
        if not bounds or any(math.isnan(bound) for bound in bounds):
            raise ValueError("a histogram needs bucket bounds")
        if bounds[-1] != math.inf:
            bounds.append(math.inf)
        self.name = name
        self.help_text = help_text
        self.bounds: tuple[float, ...] = tuple(bounds)
        self._counts = [0] * len(self.bounds)  # per bucket, not cumulative
        self.sum = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        if math.isnan(value):
            return  # a broken measurement must not poison the sum
        self.sum += value
        self.count += 1
        for index, bound in enumerate(self.bounds):
            if value <= bound:
                self._counts[index] += 1
                break

    @contextmanager
    def time(self) -> Iterator[None]:
        """Observe how long the `with` block took; not observed when the block raises."""
        started = time.perf_counter()
        yield
        self.observe(time.perf_counter() - started)

    def cumulative(self) -> list[tuple[float, int]]:
        """(upper bound, observations at or below it), ending with +Inf = count."""
        total = 0
        result = []
        for bound, count in zip(self.bounds, self._counts, strict=True):
            total += count
            result.append((bound, total))
        return result


Metric = Counter | Histogram


class Metrics:
    """Every metric the bot publishes on /metrics."""

    def __init__(self) -> None:
        self.messages_seen = Counter(
            f"{PREFIX}messages_seen_total",
            "Messages read where the bot may answer (enabled channels, mentions).",
        )
        self.answers = Counter(f"{PREFIX}answers_total", "Answers posted, passive and by command.")
        self.answers_lost = Counter(
            f"{PREFIX}answers_lost_total",
            "Replies to messages Discord did not take, after discord.py's retries, by why.",
            labelnames=("reason",),
            known=[(reason,) for reason in LOST_REASONS],
        )
        self.abstentions = Counter(
            f"{PREFIX}abstentions_total", "Messages left unanswered because no match was confident enough."
        )
        self.votes = Counter(
            f"{PREFIX}votes_total",
            "Feedback votes on answers.",
            labelnames=("vote",),
            known=[("helpful",), ("not_helpful",)],
        )
        self.probes = Counter(f"{PREFIX}probes_total", "Mail server probes and discoveries run.")
        self.answer_latency = Histogram(
            f"{PREFIX}answer_latency_seconds", "Seconds from reading a question to the answer being sent."
        )
        self.screenshots = Counter(
            f"{PREFIX}screenshots_total",
            "Image attachments looked at for text (OCR), by outcome.",
            labelnames=("outcome",),
            known=[(outcome,) for outcome in SCREENSHOT_OUTCOMES],
        )
        self.redis_outages = Counter(
            f"{PREFIX}redis_outages_total",
            "Times Redis became unreachable (probes refused, local answer limits until it is back).",
        )
        self.screenshot_seconds = Histogram(
            f"{PREFIX}screenshot_seconds", "Seconds to download and read one screenshot that was read."
        )

    def inc(self, name: str, amount: float = 1.0) -> None:
        """Add to a counter by short name: messages_seen, answers, abstentions, probes, votes_helpful or
        votes_not_helpful. An unknown name raises KeyError."""
        if name in ("votes_helpful", "votes_not_helpful"):
            self.votes.inc(amount, vote=name.removeprefix("votes_"))
            return
        counters = {
            "messages_seen": self.messages_seen,
            "answers": self.answers,
            "abstentions": self.abstentions,
            "probes": self.probes,
        }
        counters[name].inc(amount)

    def all(self) -> list[Metric]:
        return [
            self.messages_seen,
            self.answers,
            self.answers_lost,
            self.abstentions,
            self.votes,
            self.probes,
            self.answer_latency,
            self.screenshots,
            self.screenshot_seconds,
            self.redis_outages,
        ]
