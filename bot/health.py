"""The optional health and metrics endpoint (aiohttp), for load balancers, uptime checks and Prometheus.

- `GET /healthz`: JSON with the gateway connection, its latency and the knowledge in use; HTTP 200 when the
  bot is connected and has knowledge loaded, 503 otherwise.
- `GET /metrics`: the counters and histogram of `bot/metrics.py` in Prometheus' text exposition format.

It knows nothing of Discord: the app passes a function that reports the current `HealthStatus`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from bot.metrics import PREFIX, Counter, Histogram, Metrics

log = logging.getLogger(__name__)

EXPOSITION_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


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


def _render_gauge(name: str, help_text: str, value: float) -> list[str]:
    return [*_header(name, help_text, "gauge"), f"{name} {_number(value)}"]


def render_metrics(metrics: Metrics, status: HealthStatus | None) -> str:
    """Every metric, then gauges read from the current status (left out when the status is unavailable)."""
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
    return "\n".join(lines) + "\n"


# --- the server ---------------------------------------------------------------------------------------------


class HealthServer:
    def __init__(self, status: StatusProvider, metrics: Metrics, *, host: str, port: int) -> None:
        """`port` 0 picks a free port (see `port` after `start`)."""
        self._status = status
        self._metrics = metrics
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

    async def _healthz(self, request: web.Request) -> web.Response:
        del request
        status = self._current_status()
        if status is None:
            return web.json_response({"status": "unavailable"}, status=503)
        latency = status.latency_seconds
        body = {
            "status": "ok" if status.healthy else "unhealthy",
            "gateway": {
                "connected": status.gateway_connected,
                "latency_ms": round(latency * 1000, 1) if latency is not None else None,
            },
            "knowledge": {"loaded": status.knowledge_loaded, "entries": status.knowledge_entries},
        }
        return web.json_response(body, status=200 if status.healthy else 503)

    async def _metrics_page(self, request: web.Request) -> web.Response:
        del request
        text = render_metrics(self._metrics, self._current_status())
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
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()
