"""The optional health and metrics endpoint (aiohttp), for load balancers, uptime checks and Prometheus.

- `GET /healthz`: JSON with the gateway connection, its latency, the knowledge in use and each service the bot
  depends on (the database...). HTTP 200 "ok" when the bot is connected, has knowledge loaded and every service
  answers; 200 "degraded" when only an optional service is down; 503 "unhealthy" otherwise.
- `GET /metrics`: the counters and histogram of `bot/metrics.py` in Prometheus' text exposition format, and a
  gauge per service (`guidenest_dependency_up{name="database"} 1`).

It knows nothing of Discord or of the services: the app passes a function that reports the current
`HealthStatus`, and a `DependencyCheck` per service.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from aiohttp import web

from bot.metrics import PREFIX, Counter, Histogram, Metrics

log = logging.getLogger(__name__)

EXPOSITION_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
DEFAULT_CHECK_TIMEOUT_SECONDS = 3.0
MAX_ERROR_CHARS = 200  # of a service's error in /healthz: enough to say what is wrong
RESERVED_NAMES = frozenset({"status", "gateway", "knowledge"})  # /healthz keys a service may not take


@dataclass(frozen=True, slots=True)
class HealthStatus:
    gateway_connected: bool
    latency_seconds: float | None  # None until the first heartbeat is acknowledged
    knowledge_loaded: bool
    knowledge_entries: int

    @property
    def healthy(self) -> bool:
        return self.gateway_connected and self.knowledge_loaded


StatusProvider = Callable[[], HealthStatus]


@dataclass(frozen=True, slots=True)
class DependencyCheck:
    """A service the bot depends on, checked on each /healthz and /metrics request (concurrent requests share one
    round of checks, and the checks of one round run concurrently).

    `probe` returns when the service answers and raises when not (its message becomes the error shown); it is
    given up on after `timeout_seconds`. A required service down makes the bot unhealthy (503); an optional one
    only degraded (200). `details` are fixed fields shown beside "ok" and "error", such as the database's backend.
    """

    name: str
    probe: Callable[[], Awaitable[None]]
    required: bool = True
    timeout_seconds: float = DEFAULT_CHECK_TIMEOUT_SECONDS
    details: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DependencyState:
    """What one check found."""

    name: str
    required: bool
    error: str | None  # None: the service answered
    details: Mapping[str, object]

    @property
    def ok(self) -> bool:
        return self.error is None

    def as_json(self) -> dict[str, object]:
        return {"ok": self.ok, **self.details, "error": self.error}


class HealthServerError(Exception):
    """The endpoint cannot listen where configured (port taken, address not local...)."""


# --- Prometheus text format ---------------------------------------------------------------------------------


def _number(value: float) -> str:
    value = float(value)  # ints and bools (a connected flag) too
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _labels(labels: dict[str, str]) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{name}="{_escape_label(value)}"' for name, value in labels.items()) + "}"


def _header(name: str, help_text: str, kind: str) -> list[str]:
    return [f"# HELP {name} {_escape_help(help_text)}", f"# TYPE {name} {kind}"]


def _render_counter(counter: Counter) -> list[str]:
    lines = _header(counter.name, counter.help_text, counter.kind)
    lines += [f"{counter.name}{_labels(labels)} {_number(value)}" for labels, value in counter.samples()]
    return lines


def _render_histogram(histogram: Histogram) -> list[str]:
    lines = _header(histogram.name, histogram.help_text, histogram.kind)
    for bound, count in histogram.cumulative():
        lines.append(f'{histogram.name}_bucket{{le="{_number(bound)}"}} {count}')
    lines.append(f"{histogram.name}_sum {_number(histogram.sum)}")
    lines.append(f"{histogram.name}_count {histogram.count}")
    return lines


def _render_gauges(name: str, help_text: str, samples: Iterable[tuple[dict[str, str], float]]) -> list[str]:
    lines = _header(name, help_text, "gauge")
    lines += [f"{name}{_labels(labels)} {_number(value)}" for labels, value in samples]
    return lines


def _render_gauge(name: str, help_text: str, value: float) -> list[str]:
    return _render_gauges(name, help_text, [({}, value)])


def render_metrics(
    metrics: Metrics, status: HealthStatus | None, dependencies: Sequence[DependencyState] = ()
) -> str:
    """Every metric, then gauges read from the current status (left out when the status is unavailable) and
    from the services' checks."""
    lines: list[str] = []
    for metric in metrics.all():
        lines += _render_counter(metric) if isinstance(metric, Counter) else _render_histogram(metric)
    if status is not None:
        lines += _render_gauge(
            f"{PREFIX}gateway_connected",
            "1 when every shard is connected to the gateway.",
            status.gateway_connected,
        )
        if status.latency_seconds is not None:
            lines += _render_gauge(
                f"{PREFIX}gateway_latency_seconds",
                "Heartbeat round trip to the gateway.",
                status.latency_seconds,
            )
        lines += _render_gauge(
            f"{PREFIX}knowledge_entries", "Entries in the knowledge in use.", status.knowledge_entries
        )
    if dependencies:
        lines += _render_gauges(
            f"{PREFIX}dependency_up",
            "1 when the service answered its health check.",
            [({"name": state.name}, state.ok) for state in dependencies],
        )
    return "\n".join(lines) + "\n"


# --- the server ---------------------------------------------------------------------------------------------


class HealthServer:
    def __init__(
        self,
        status: StatusProvider,
        metrics: Metrics,
        *,
        host: str,
        port: int,
        checks: Sequence[DependencyCheck] = (),
    ) -> None:
        """`port` 0 picks a free port (see `port` after `start`)."""
        names = [check.name for check in checks]
        if len(set(names)) != len(names) or RESERVED_NAMES.intersection(names):
            raise ValueError(f"service names must be unique and not one of {sorted(RESERVED_NAMES)}: {names}")
        self._status = status
        self._metrics = metrics
        self._checks = tuple(checks)
        self._checking: asyncio.Task[list[DependencyState]] | None = None
        self._down: set[str] = set()  # services whose last check failed, to log only the changes
        self.host = host
        self._requested_port = port
        self._runner: web.AppRunner | None = None
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics_page)
        self._app = app

    def _current_status(self) -> HealthStatus | None:
        try:
            return self._status()
        except Exception:  # the endpoint must answer even when the status cannot be read
            log.exception("health status unavailable")
            return None

    async def dependencies(self) -> list[DependencyState]:
        """Every service's state now; a request arriving while a round of checks runs waits for that round."""
        if not self._checks:
            return []
        if self._checking is None or self._checking.done():
            self._checking = asyncio.create_task(self._check_all(), name="guidenest: health checks")
        # Shielded: one request given up on must not cancel the round others wait for.
        return await asyncio.shield(self._checking)

    async def _check_all(self) -> list[DependencyState]:
        return list(await asyncio.gather(*(self._check(check) for check in self._checks)))

    async def _check(self, check: DependencyCheck) -> DependencyState:
        error: str | None = None
        try:
            async with asyncio.timeout(check.timeout_seconds):
                await check.probe()
        except TimeoutError:
            error = f"no answer within {check.timeout_seconds:g} s"
        except Exception as exc:  # noqa: BLE001 - whatever the service's client raises, the endpoint reports it
            error = (str(exc) or type(exc).__name__)[:MAX_ERROR_CHARS]
        if error is not None and check.name not in self._down:
            log.warning("health check: %s is down: %s", check.name, error)
            self._down.add(check.name)
        elif error is None and check.name in self._down:
            log.info("health check: %s answers again", check.name)
            self._down.discard(check.name)
        return DependencyState(name=check.name, required=check.required, error=error, details=check.details)

    async def _healthz(self, request: web.Request) -> web.Response:
        del request
        status = self._current_status()
        if status is None:
            return web.json_response({"status": "unavailable"}, status=503)
        dependencies = await self.dependencies()
        down = [state for state in dependencies if not state.ok]
        if not status.healthy or any(state.required for state in down):
            verdict, http_status = "unhealthy", 503
        else:
            # An optional service down: the bot still answers, with less (e.g. local limits only).
            verdict, http_status = ("degraded" if down else "ok"), 200
        latency = status.latency_seconds
        body = {
            "status": verdict,
            "gateway": {
                "connected": status.gateway_connected,
                "latency_ms": round(latency * 1000, 1) if latency is not None else None,
            },
            "knowledge": {"loaded": status.knowledge_loaded, "entries": status.knowledge_entries},
            **{state.name: state.as_json() for state in dependencies},
        }
        return web.json_response(body, status=http_status)

    async def _metrics_page(self, request: web.Request) -> web.Response:
        del request
        text = render_metrics(self._metrics, self._current_status(), await self.dependencies())
        return web.Response(body=text.encode(), headers={"Content-Type": EXPOSITION_CONTENT_TYPE})

    async def start(self) -> None:
        # No access log: a scraper every few seconds would drown the bot's own log lines.
        runner = web.AppRunner(self._app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self._requested_port)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            where = f"{self.host}:{self._requested_port}"
            raise HealthServerError(f"cannot listen on {where}: {exc.strerror or exc}") from exc
        self._runner = runner
        log.info("health endpoint on http://%s:%d/healthz", self.host, self.port)

    @property
    def port(self) -> int:
        if self._runner is None or not self._runner.addresses:
            raise RuntimeError("the health server is not running")
        return int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        checking, self._checking = self._checking, None
        if checking is not None:
            checking.cancel()
            await asyncio.gather(checking, return_exceptions=True)
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()
