"""The health and metrics endpoint, served for real on 127.0.0.1 and read with an aiohttp client."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.health import EXPOSITION_CONTENT_TYPE, HealthServer, HealthServerError, HealthStatus, render_metrics
from bot.metrics import Counter, Metrics

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

HEALTHY = HealthStatus(
    gateway_connected=True, latency_seconds=0.0423, knowledge_loaded=True, knowledge_entries=42
)


class StatusBox:
    """What the app would report; a test changes it between requests."""

    def __init__(self) -> None:
        self.status: HealthStatus | Exception = HEALTHY

    def __call__(self) -> HealthStatus:
        if isinstance(self.status, Exception):
            raise self.status
        return self.status


@pytest.fixture
def status() -> StatusBox:
    return StatusBox()


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
async def server(status: StatusBox, metrics: Metrics) -> AsyncIterator[HealthServer]:
    health = HealthServer(status, metrics, host="127.0.0.1", port=0)
    await health.start()
    yield health
    await health.stop()


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
        yield session


def _url(server: HealthServer, path: str) -> str:
    return f"http://127.0.0.1:{server.port}{path}"


async def test_healthy_bot_answers_200_with_details(
    server: HealthServer, client: aiohttp.ClientSession
) -> None:
    async with client.get(_url(server, "/healthz")) as response:
        assert response.status == 200
        assert response.content_type == "application/json"
        body = await response.json()
    assert body == {
        "status": "ok",
        "gateway": {"connected": True, "latency_ms": 42.3},
        "knowledge": {"loaded": True, "entries": 42},
    }


@pytest.mark.parametrize(
    ("gateway_connected", "knowledge_loaded"), [(False, True), (True, False), (False, False)]
)
async def test_unhealthy_bot_answers_503(
    server: HealthServer,
    client: aiohttp.ClientSession,
    status: StatusBox,
    gateway_connected: bool,
    knowledge_loaded: bool,
) -> None:
    status.status = HealthStatus(
        gateway_connected=gateway_connected,
        latency_seconds=None,
        knowledge_loaded=knowledge_loaded,
        knowledge_entries=42 if knowledge_loaded else 0,
    )
    async with client.get(_url(server, "/healthz")) as response:
        assert response.status == 503
        body = await response.json()
    assert body["status"] == "unhealthy"
    assert body["gateway"] == {"connected": gateway_connected, "latency_ms": None}
    assert body["knowledge"]["loaded"] is knowledge_loaded


async def test_status_that_cannot_be_read_is_503_not_a_crash(
    server: HealthServer, client: aiohttp.ClientSession, status: StatusBox, caplog: pytest.LogCaptureFixture
) -> None:
    status.status = AttributeError("knowledge not loaded yet")
    with caplog.at_level(logging.ERROR, logger="bot.health"):
        async with client.get(_url(server, "/healthz")) as response:
            assert response.status == 503
            assert await response.json() == {"status": "unavailable"}
        # /metrics still serves the counters, without the status gauges.
        async with client.get(_url(server, "/metrics")) as response:
            assert response.status == 200
            text = await response.text()
    assert "guidenest_answers_total 0" in text
    assert "guidenest_gateway_connected" not in text
    assert "health status unavailable" in caplog.text


async def test_metrics_page_is_prometheus_text_with_current_values(
    server: HealthServer, client: aiohttp.ClientSession, metrics: Metrics
) -> None:
    for _ in range(3):
        metrics.messages_seen.inc()
    metrics.answers.inc()
    metrics.answers.inc()
    metrics.abstentions.inc()
    metrics.votes.inc(vote="not_helpful")
    metrics.probes.inc()
    for seconds in (0.02, 0.2, 3.0):
        metrics.answer_latency.observe(seconds)

    async with client.get(_url(server, "/metrics")) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == EXPOSITION_CONTENT_TYPE
        text = await response.text()

    # Parsed with the Prometheus project's own parser: the format is right, not only the numbers.
    families = {family.name: family for family in text_string_to_metric_families(text)}
    assert families["guidenest_messages_seen"].type == "counter"
    values = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in families.values()
        for sample in family.samples
    }
    assert values[("guidenest_messages_seen_total", ())] == 3
    assert values[("guidenest_answers_total", ())] == 2
    assert values[("guidenest_abstentions_total", ())] == 1
    assert values[("guidenest_votes_total", (("vote", "helpful"),))] == 0
    assert values[("guidenest_votes_total", (("vote", "not_helpful"),))] == 1
    assert values[("guidenest_probes_total", ())] == 1

    latency = families["guidenest_answer_latency_seconds"]
    assert latency.type == "histogram"
    assert values[("guidenest_answer_latency_seconds_count", ())] == 3
    assert values[("guidenest_answer_latency_seconds_sum", ())] == pytest.approx(3.22)
    assert values[("guidenest_answer_latency_seconds_bucket", (("le", "0.01"),))] == 0
    assert values[("guidenest_answer_latency_seconds_bucket", (("le", "0.025"),))] == 1
    assert values[("guidenest_answer_latency_seconds_bucket", (("le", "0.25"),))] == 2
    assert values[("guidenest_answer_latency_seconds_bucket", (("le", "+Inf"),))] == 3

    assert values[("guidenest_gateway_connected", ())] == 1
    assert values[("guidenest_gateway_latency_seconds", ())] == pytest.approx(0.0423)
    assert values[("guidenest_knowledge_entries", ())] == 42


async def test_unknown_paths_and_methods_are_refused(
    server: HealthServer, client: aiohttp.ClientSession
) -> None:
    async with client.get(_url(server, "/")) as response:
        assert response.status == 404
    async with client.post(_url(server, "/healthz")) as response:
        assert response.status == 405


async def test_stop_frees_the_port(
    status: StatusBox, metrics: Metrics, client: aiohttp.ClientSession
) -> None:
    health = HealthServer(status, metrics, host="127.0.0.1", port=0)
    await health.start()
    port = health.port
    await health.stop()
    await health.stop()  # twice is harmless
    with pytest.raises(RuntimeError, match="not running"):
        _ = health.port
    with pytest.raises(aiohttp.ClientConnectionError):
        await client.get(f"http://127.0.0.1:{port}/healthz")


async def test_a_busy_port_fails_to_start_clearly(
    server: HealthServer, status: StatusBox, metrics: Metrics
) -> None:
    second = HealthServer(status, metrics, host="127.0.0.1", port=server.port)
    with pytest.raises(
        HealthServerError, match=rf"127\.0\.0\.1:{server.port}: .*(?i:address already in use)"
    ):
        await second.start()


def test_label_values_and_help_are_escaped() -> None:
    metrics = Metrics()
    odd = Counter("odd_total", "Help with a \\ backslash\nand a newline.", labelnames=("path",))
    odd.inc(path='C:\\mail "inbox"\nnext')
    metrics.all = lambda: [odd]  # type: ignore[method-assign]
    text = render_metrics(metrics, None)
    (family,) = text_string_to_metric_families(text)
    assert family.documentation == "Help with a \\ backslash\nand a newline."
    assert family.samples[0].labels == {"path": 'C:\\mail "inbox"\nnext'}


def test_numbers_are_rendered_as_prometheus_reads_them() -> None:
    status = HealthStatus(
        gateway_connected=False, latency_seconds=None, knowledge_loaded=False, knowledge_entries=0
    )
    text = render_metrics(Metrics(), status)
    assert "guidenest_gateway_connected 0\n" in text
    assert "guidenest_gateway_latency_seconds" not in text  # unknown latency is left out, not made up
    assert 'guidenest_answer_latency_seconds_bucket{le="+Inf"} 0\n' in text
    assert text.endswith("\n")
