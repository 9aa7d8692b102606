"""The in-memory counters and histogram that cogs update."""

from __future__ import annotations

import math

import pytest

from bot.metrics import Counter, Histogram, Metrics


def test_counter_counts_and_refuses_to_go_down() -> None:
    counter = Counter("things_total", "Things.")
    assert counter.value() == 0
    counter.inc()
    counter.inc(2.5)
    assert counter.value() == 3.5
    with pytest.raises(ValueError, match="only goes up"):
        counter.inc(-1)
    assert counter.samples() == [({}, 3.5)]


def test_labelled_counter_needs_exactly_its_labels() -> None:
    counter = Counter("votes_total", "Votes.", labelnames=("vote",), known=[("helpful",), ("not_helpful",)])
    assert counter.samples() == [({"vote": "helpful"}, 0.0), ({"vote": "not_helpful"}, 0.0)]
    counter.inc(vote="not_helpful")
    counter.inc(vote="not_helpful")
    assert counter.value(vote="not_helpful") == 2
    assert counter.value(vote="helpful") == 0
    with pytest.raises(ValueError, match="takes vote, got none"):
        counter.inc()
    with pytest.raises(ValueError, match="takes vote"):
        counter.inc(kind="x")
    with pytest.raises(ValueError, match="takes no labels"):
        Counter("plain_total", "Plain.").inc(vote="helpful")


def test_invalid_names_are_refused() -> None:
    with pytest.raises(ValueError, match="invalid"):
        Counter("has space", "Bad.")
    with pytest.raises(ValueError, match="invalid"):
        Counter("ok_total", "Bad label.", labelnames=("1abc",))
    with pytest.raises(ValueError, match="invalid"):
        Histogram("bad-name", "Bad.")


def test_histogram_buckets_are_cumulative_and_end_at_infinity() -> None:
    histogram = Histogram("latency_seconds", "Latency.", buckets=[1.0, 0.1, 0.5])
    assert histogram.bounds == (0.1, 0.5, 1.0, math.inf)
    for value in (0.05, 0.1, 0.3, 0.7, 30.0, float("nan")):
        histogram.observe(value)
    # A value equal to a bound counts in that bucket (le = "less than or equal"); NaN is dropped.
    assert histogram.cumulative() == [(0.1, 2), (0.5, 3), (1.0, 4), (math.inf, 5)]
    assert histogram.count == 5
    assert histogram.sum == pytest.approx(31.15)


def test_histogram_times_a_block_but_not_a_failed_one() -> None:
    histogram = Histogram("work_seconds", "Work.")
    with histogram.time():
        sum(range(1000))
    assert histogram.count == 1
    assert 0 <= histogram.sum < 5
    with pytest.raises(RuntimeError), histogram.time():
        raise RuntimeError("failed")
    assert histogram.count == 1


def test_metrics_has_the_published_set() -> None:
    metrics = Metrics()
    names = [metric.name for metric in metrics.all()]
    assert names == [
        "guidenest_messages_seen_total",
        "guidenest_answers_total",
        "guidenest_answers_lost_total",
        "guidenest_abstentions_total",
        "guidenest_votes_total",
        "guidenest_probes_total",
        "guidenest_answer_latency_seconds",
        "guidenest_screenshots_total",
        "guidenest_screenshot_seconds",
        "guidenest_redis_outages_total",
    ]
    # Two instances do not share counts (each bot, each test, its own).
    metrics.answers.inc()
    assert Metrics().answers.value() == 0


def test_counters_by_short_name() -> None:
    metrics = Metrics()
    for name in ("messages_seen", "messages_seen", "answers", "abstentions", "probes", "votes_not_helpful"):
        metrics.inc(name)
    metrics.inc("votes_helpful", 2)
    assert metrics.messages_seen.value() == 2
    assert (metrics.answers.value(), metrics.abstentions.value(), metrics.probes.value()) == (1, 1, 1)
    assert metrics.votes.value(vote="helpful") == 2
    assert metrics.votes.value(vote="not_helpful") == 1
    with pytest.raises(KeyError):
        metrics.inc("answer")
