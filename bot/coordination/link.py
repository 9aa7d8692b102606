"""The connection to Redis, and whether it is up: one per process, shared by the counters and the broadcast.

Every call goes through `RedisLink.call`. The first failure marks the link down: one WARNING, the outage counted
in the metrics, and from then on calls fail at once with `RedisUnavailableError` (no connect timeout paid per message)
while a background task pings Redis every few seconds. The first ping that succeeds marks it up again. What a
caller does meanwhile is its own rule: the probe guard refuses, the answer limits fall back to this process's
own counters.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, TypeVar

from redis.asyncio import Redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from bot.metrics import Metrics

log = logging.getLogger(__name__)

T = TypeVar("T")

# A Redis on the same network answers in well under a millisecond; a second means it is not there.
SOCKET_TIMEOUT_SECONDS = 1.0
RETRY_SECONDS = 2.0
# Every key the bot writes starts with this, so that it can share a Redis with other programs.
KEY_PREFIX = "guidenest:"


class RedisUnavailableError(Exception):
    """Redis did not answer (or is known to be down): the caller applies its rule for an outage."""


def short_error(exc: BaseException) -> str:
    """The error's class and first line, for one log line; a Redis error never carries the URL's password."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}"[:200] if text else type(exc).__name__


class RedisLink:
    def __init__(
        self, client: Redis, metrics: Metrics, *, retry_seconds: float = RETRY_SECONDS
    ) -> None:
        self.client = client
        self._metrics = metrics
        self._retry_seconds = retry_seconds
        self.up = True
        self.last_error: str | None = None
        self._recovery: asyncio.Task[None] | None = None
        self._closed = False

    @classmethod
    def from_url(cls, url: str, metrics: Metrics, *, retry_seconds: float = RETRY_SECONDS) -> RedisLink:
        client = Redis.from_url(
            url,
            socket_timeout=SOCKET_TIMEOUT_SECONDS,
            socket_connect_timeout=SOCKET_TIMEOUT_SECONDS,
            # No retries inside the client: an outage is handled here, once, instead of on every call.
            retry=Retry(NoBackoff(), 0),
            decode_responses=True,
        )
        return cls(client, metrics, retry_seconds=retry_seconds)

    async def call(self, operation: Callable[[Redis], Awaitable[T]]) -> T:
        """`operation(client)`, or RedisUnavailableError when Redis is down or fails now (then marked down)."""
        if not self.up:
            raise RedisUnavailableError(self.last_error or "Redis is unreachable")
        try:
            return await operation(self.client)
        except (RedisError, OSError, TimeoutError) as exc:
            self.mark_down(exc)
            raise RedisUnavailableError(self.last_error or "Redis is unreachable") from exc

    def mark_down(self, exc: BaseException) -> None:
        self.last_error = short_error(exc)
        if not self.up or self._closed:
            return
        self.up = False
        self._metrics.redis_outages.inc()
        log.warning(
            "Redis is unreachable (%s): probes are refused and answers use this process's own limits until it "
            "is back; retrying every %g s",
            self.last_error,
            self._retry_seconds,
        )
        self._recovery = asyncio.get_running_loop().create_task(self._recover(), name="guidenest: redis recovery")

    async def _recover(self) -> None:
        while not self._closed:
            await asyncio.sleep(self._retry_seconds)
            try:
                # The pool's connections broke with the outage: start again from fresh ones.
                await self.client.connection_pool.disconnect(inuse_connections=False)
                await self.client.ping()
            except (RedisError, OSError, TimeoutError) as exc:
                self.last_error = short_error(exc)
                continue
            self.up = True
            self.last_error = None
            # The broadcast listener notices by itself and re-reads what it may have missed.
            log.warning("Redis is reachable again: limits are shared across processes again")
            return

    async def ping(self) -> None:
        """Raise RedisUnavailableError unless Redis answers now (for /healthz); marks the link down on failure."""
        if not self.up:
            raise RedisUnavailableError(self.last_error or "Redis is unreachable")
        await self.call(lambda client: client.ping())

    async def close(self) -> None:
        self._closed = True
        task, self._recovery = self._recovery, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        await self.client.aclose()
