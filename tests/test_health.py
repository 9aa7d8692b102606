"""The health and metrics endpoint, served for real on 127.0.0.1 and read with an aiohttp client."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.health import (
    EXPOSITION_CONTENT_TYPE,
    MAX_ERROR_CHARS,
    DependencyCheck,
    HealthServer,
    HealthServerError,
    HealthStatus,
    render_metrics,
)
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


# --- services the bot depends on ------------------------------------------------------------------------------


class FakeService:
    """A service's probe that a test switches between answering, failing and hanging."""

    def __init__(self) -> None:
        self.failure: Exception | None = None
        self.hanging = False
        self.calls = 0
        self.called = asyncio.Event()
        self.release = asyncio.Event()  # ends a hang

    async def __call__(self) -> None:
        self.calls += 1
        self.called.set()
        if self.hanging:
            await self.release.wait()
        if self.failure is not None:
            raise self.failure


@contextlib.asynccontextmanager
async def serving(status: StatusBox, metrics: Metrics, *checks: DependencyCheck) -> AsyncIterator[HealthServer]:
    health = HealthServer(status, metrics, host="127.0.0.1", port=0, checks=checks)
    await health.start()
    try:
        yield health
    finally:
        await health.stop()


async def _get(client: aiohttp.ClientSession, server: HealthServer, path: str) -> tuple[int, Any]:
    async with client.get(_url(server, path)) as response:
        body = await (response.json() if path == "/healthz" else response.text())
        return response.status, body


def _dependency_up(text: str) -> dict[str, float]:
    return {
        sample.labels["name"]: sample.value
        for family in text_string_to_metric_families(text)
        if family.name == "guidenest_dependency_up"
        for sample in family.samples
    }


async def test_a_required_service_down_makes_the_bot_unhealthy(
    status: StatusBox, metrics: Metrics, client: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    database = FakeService()
    check = DependencyCheck("database", database, details={"backend": "postgresql"})
    async with serving(status, metrics, check) as server:
        assert await _get(client, server, "/healthz") == (
            200,
            {
                "status": "ok",
                "gateway": {"connected": True, "latency_ms": 42.3},
                "knowledge": {"loaded": True, "entries": 42},
                "database": {"ok": True, "backend": "postgresql", "error": None},
            },
        )
        database.failure = ConnectionRefusedError("connection refused")
        with caplog.at_level(logging.INFO, logger="bot.health"):
            code, body = await _get(client, server, "/healthz")
            assert (code, body["status"]) == (503, "unhealthy")
            assert body["database"] == {"ok": False, "backend": "postgresql", "error": "connection refused"}
            _, text = await _get(client, server, "/metrics")
            assert _dependency_up(text) == {"database": 0}
            database.failure = None
            assert (await _get(client, server, "/healthz"))[0] == 200
    # Said once when it went down (not on every request), and once when it came back.
    changes = [(record.levelname, record.getMessage()) for record in caplog.records]
    assert changes == [
        ("WARNING", "health check: database is down: connection refused"),
        ("INFO", "health check: database answers again"),
    ]


async def test_an_optional_service_down_leaves_the_bot_degraded_not_unhealthy(
    status: StatusBox, metrics: Metrics, client: aiohttp.ClientSession
) -> None:
    database, redis = FakeService(), FakeService()
    checks = (
        DependencyCheck("database", database, details={"backend": "sqlite"}),
        DependencyCheck("redis", redis, required=False, details={"configured": True}),
    )
    async with serving(status, metrics, *checks) as server:
        redis.failure = OSError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        code, body = await _get(client, server, "/healthz")
        assert (code, body["status"]) == (200, "degraded")
        assert body["redis"] == {
            "ok": False,
            "configured": True,
            "error": "Error 111 connecting to 127.0.0.1:6379. Connection refused.",
        }
        assert body["database"]["ok"] is True
        _, text = await _get(client, server, "/metrics")
        assert _dependency_up(text) == {"database": 1, "redis": 0}

        # Degraded gives way to unhealthy: the gateway, or a required service, still decides.
        status.status = HealthStatus(
            gateway_connected=False, latency_seconds=None, knowledge_loaded=True, knowledge_entries=42
        )
        assert (await _get(client, server, "/healthz"))[1]["status"] == "unhealthy"
        status.status = HEALTHY
        database.failure = RuntimeError("the database is closed")
        code, body = await _get(client, server, "/healthz")
        assert (code, body["status"]) == (503, "unhealthy")
        assert body["database"] == {"ok": False, "backend": "sqlite", "error": "the database is closed"}


async def test_checks_run_concurrently_each_cut_at_its_own_timeout(
    status: StatusBox, metrics: Metrics, client: aiohttp.ClientSession
) -> None:
    first_started, second_started = asyncio.Event(), asyncio.Event()

    async def first() -> None:
        first_started.set()
        await second_started.wait()  # returns only if the other check runs meanwhile

    async def second() -> None:
        second_started.set()
        await first_started.wait()

    hung = FakeService()
    hung.hanging = True
    checks = (
        DependencyCheck("first", first, timeout_seconds=5),
        DependencyCheck("second", second, timeout_seconds=5),
        DependencyCheck("stuck", hung, required=False, timeout_seconds=0.05),
    )
    async with serving(status, metrics, *checks) as server:
        code, body = await _get(client, server, "/healthz")
    assert (code, body["status"]) == (200, "degraded")
    assert body["first"] == body["second"] == {"ok": True, "error": None}
    assert body["stuck"] == {"ok": False, "error": "no answer within 0.05 s"}


async def test_requests_at_the_same_time_share_one_round_of_checks(
    status: StatusBox, metrics: Metrics, client: aiohttp.ClientSession
) -> None:
    database = FakeService()
    database.hanging = True
    async with serving(status, metrics, DependencyCheck("database", database)) as server:
        waiting = [asyncio.create_task(server.dependencies()) for _ in range(5)]
        await database.called.wait()  # every request above has asked by the time the round starts
        database.release.set()
        rounds = await asyncio.gather(*waiting)
        assert database.calls == 1
        assert all(states == rounds[0] for states in rounds)
        assert (await _get(client, server, "/healthz"))[0] == 200  # a later request checks again
        assert database.calls == 2

        # Stopping does not wait for a round that hangs.
        database.release.clear()
        database.called.clear()
        hanging = asyncio.create_task(_get(client, server, "/healthz"))
        await database.called.wait()
        await asyncio.wait_for(server.stop(), 2)
        with pytest.raises(aiohttp.ClientError):
            await hanging


async def test_an_error_without_words_is_named_and_a_long_one_shortened(
    status: StatusBox, metrics: Metrics, client: aiohttp.ClientSession
) -> None:
    silent, wordy = FakeService(), FakeService()
    silent.failure = ConnectionResetError()
    wordy.failure = ValueError("x" * 5000)
    checks = (DependencyCheck("silent", silent), DependencyCheck("wordy", wordy, required=False))
    async with serving(status, metrics, *checks) as server:
        _, body = await _get(client, server, "/healthz")
    assert body["silent"]["error"] == "ConnectionResetError"
    assert body["wordy"]["error"] == "x" * MAX_ERROR_CHARS


@pytest.mark.parametrize("names", [("database", "database"), ("status",), ("gateway",)])
def test_service_names_must_be_unique_and_not_a_field_of_the_report(
    status: StatusBox, metrics: Metrics, names: tuple[str, ...]
) -> None:
    with pytest.raises(ValueError, match="service names must be unique"):
        HealthServer(
            status, metrics, host="127.0.0.1", port=0, checks=[DependencyCheck(name, FakeService()) for name in names]
        )
