"""Rate limits that keep the probe from becoming a tool for hammering someone's server.

Four rules, checked together before a probe starts: one probe per user per cooldown, an hourly cap per guild,
an hourly cap per target host across all guilds, and a global number of probes running at once (with a short
queue; beyond it requests are refused, not parked). State lives in memory: a restart forgives everyone, which
is fine for limits measured in minutes. With Redis configured, the counts are shared by every process instead
(bot/coordination/probes.py) and the same rules hold across them.

The per-target cap covers every host and address a request connects to, not only the one that was typed: a
discovery follows SRV records and autoconfig files that whoever runs the domain's DNS may point anywhere, and a
name may resolve to someone else's address. Such a request takes a unit of each of those targets through
`RequestTargets` (once per request, however many ports it tries there), so a direct probe, a discovery and a
name's address all draw on one budget per host and per address.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Protocol

from bot.probe.errors import ProbeRefused

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Iterable
    from contextlib import AbstractAsyncContextManager

    from bot.settings import Settings

HOUR = 3600.0


def format_wait(seconds: float) -> str:
    """`45 s`, `3 min`, `1 h 5 min`: rounded up so that the advertised time is never too short."""
    whole = max(1, math.ceil(seconds))
    if whole < 60:
        return f"{whole} s"
    minutes = math.ceil(whole / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest} min" if rest else f"{hours} h"


# What each rule says when it refuses: the same words whether the counts are kept here or in Redis.


def user_refusal(cooldown: float, wait: float) -> ProbeRefused:
    return ProbeRefused(f"You can run one probe every {format_wait(cooldown)}; try again in {format_wait(wait)}.")


def guild_refusal(cap: int, wait: float) -> ProbeRefused:
    return ProbeRefused(
        f"This server has used its {cap} probes for the hour; the next one is possible in {format_wait(wait)}."
    )


def target_refusal(target_key: str, cap: int, wait: float) -> ProbeRefused:
    times = "once" if cap == 1 else f"{cap} times"
    return ProbeRefused(
        f"{target_key} has been probed {times} in the last hour (counting every server the bot is in); try "
        f"again in {format_wait(wait)}."
    )


def busy_refusal(running: int, waiting: int) -> ProbeRefused:
    return ProbeRefused(
        f"The bot is already running {running} probes and has {waiting} waiting; try again in a few seconds."
    )


def _hourly_wait(starts: deque[float] | None, cap: int, now: float) -> float | None:
    """Seconds until the oldest start leaves the hour when `starts` has reached `cap`; None below it."""
    if starts is None or len(starts) < cap:
        return None
    return HOUR - (now - starts[0])


class ProbeLimits(Protocol):
    """The four rules, wherever their counts are kept: `ProbeGuard` (this process) or Redis, shared by every
    process (`bot.coordination.probes.SharedProbeGuard`)."""

    running: int
    waiting: int

    async def check(self, user_key: str, guild_key: str | None, target_key: str) -> None:
        """Raise ProbeRefused unless `user_key` in `guild_key` may probe `target_key` now; counts nothing."""

    def admit(self, user_key: str, guild_key: str | None, target_key: str) -> AbstractAsyncContextManager[None]:
        """Count the request and hold a probe slot for the body; ProbeRefused when a rule says no."""

    async def take_targets(self, target_keys: Iterable[str]) -> None:
        """Count one more probe of each target against its hourly cap: all of them, or none and ProbeRefused."""


class ProbeGuard:
    """The four rules with their counts in this process's memory."""

    def __init__(self, settings: Settings, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._cooldown = settings.probe_user_cooldown_seconds
        self._guild_cap = settings.probe_guild_hourly_cap
        self._target_cap = settings.probe_target_hourly_cap
        self._concurrency = settings.probe_concurrency
        self._queue_limit = settings.probe_queue_limit
        self._slots = asyncio.Semaphore(settings.probe_concurrency)
        self._user_last: dict[str, float] = {}
        self._guild_starts: dict[str, deque[float]] = {}
        self._target_starts: dict[str, deque[float]] = {}
        self.running = 0
        self.waiting = 0
        self.peak_running = 0

    def _forget_old(self, now: float) -> None:
        for key, last in list(self._user_last.items()):
            if now - last >= self._cooldown:
                del self._user_last[key]
        for table in (self._guild_starts, self._target_starts):
            for key, starts in list(table.items()):
                while starts and now - starts[0] >= HOUR:
                    starts.popleft()
                if not starts:
                    del table[key]

    def _check_target(self, target_key: str, now: float) -> None:
        wait = _hourly_wait(self._target_starts.get(target_key), self._target_cap, now)
        if wait is not None:
            raise target_refusal(target_key, self._target_cap, wait)

    async def check(self, user_key: str, guild_key: str | None, target_key: str) -> None:
        """Raise ProbeRefused unless `user_key` in `guild_key` may probe `target_key` now."""
        now = self._clock()
        self._forget_old(now)
        last = self._user_last.get(user_key)
        if last is not None:
            raise user_refusal(self._cooldown, self._cooldown - (now - last))
        if guild_key is not None:
            wait = _hourly_wait(self._guild_starts.get(guild_key), self._guild_cap, now)
            if wait is not None:
                raise guild_refusal(self._guild_cap, wait)
        self._check_target(target_key, now)
        if self.running + self.waiting >= self._concurrency + self._queue_limit:
            raise busy_refusal(self.running, self.waiting)

    def _record(self, user_key: str, guild_key: str | None, target_key: str) -> None:
        now = self._clock()
        if self._cooldown > 0:
            self._user_last[user_key] = now
        if guild_key is not None:
            self._guild_starts.setdefault(guild_key, deque()).append(now)
        self._target_starts.setdefault(target_key, deque()).append(now)

    async def take_targets(self, target_keys: Iterable[str]) -> None:
        """Count one more probe of each target against its hourly cap: all of them, or none and ProbeRefused.

        For the hosts and addresses an admitted request reaches beyond its own target (see RequestTargets). It
        never waits and holds no slot: the request's admission already holds one, and the user's and guild's
        limits were charged then.
        """
        keys = list(dict.fromkeys(target_keys))
        now = self._clock()
        self._forget_old(now)
        for key in keys:
            self._check_target(key, now)
        for key in keys:
            self._target_starts.setdefault(key, deque()).append(now)

    @asynccontextmanager
    async def admit(self, user_key: str, guild_key: str | None, target_key: str) -> AsyncIterator[None]:
        """Hold a probe slot for the body; raises ProbeRefused (with the time to wait) when a rule says no.

        The request counts against the limits as soon as it is admitted, so parallel requests from one user
        cannot slip through while the first one waits for a slot.
        """
        await self.check(user_key, guild_key, target_key)
        self._record(user_key, guild_key, target_key)
        self.waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self.waiting -= 1
        self.running += 1
        self.peak_running = max(self.peak_running, self.running)
        try:
            yield
        finally:
            self.running -= 1
            self._slots.release()


class RequestTargets:
    """The per-target units one admitted request has taken, so that each host or address is counted once.

    A discovery tries up to seven ports on one host and many names that share an address; counting each
    connection would make one ordinary discovery use up its own server's budget. Counting each target once per
    request keeps what the cap promises: a target's budget limits how many requests reach it in an hour.
    """

    def __init__(self, guard: ProbeLimits, *, counted: Iterable[str] = ()) -> None:
        self._guard = guard
        # Targets the request's own admission counted already (`guard.admit(..., target_key)`).
        self._counted = set(counted)

    async def take(self, target_keys: Iterable[str]) -> None:
        """Count the targets this request has not counted yet; ProbeRefused (nothing counted) when one is at
        its cap."""
        fresh = [key for key in dict.fromkeys(target_keys) if key not in self._counted]
        if fresh:
            await self._guard.take_targets(fresh)
            self._counted.update(fresh)
