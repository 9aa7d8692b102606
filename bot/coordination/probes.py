"""The probe guard's four rules with their counts in Redis, so that they hold across every process of the bot.

- one probe per user per cooldown: a key that expires with the cooldown;
- hourly caps per guild and per target: sorted sets of start times (Redis' clock), trimmed to the last hour;
- the global number of probes running at once: leases in a sorted set scored by when they expire. A running
  probe renews its lease; a process that dies stops renewing, and its lease lapses within LEASE_SECONDS, so
  a crash never keeps a slot forever. Requests beyond the running limit wait in a second set (up to the queue
  limit, counted across processes too) and take a lease as one frees up.

Checking and counting are one Lua script each, atomic across processes. While Redis is unreachable every probe
is refused (`REDIS_DOWN`): the limits protect other people's servers, and cannot be kept without it.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from bot.coordination.link import KEY_PREFIX, RedisUnavailableError
from bot.probe.errors import ProbeRefused
from bot.probe.guard import HOUR, busy_refusal, guild_refusal, target_refusal, user_refusal

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterable

    from redis.asyncio import Redis

    from bot.coordination.link import RedisLink
    from bot.settings import Settings

LEASE_SECONDS = 15.0
POLL_SECONDS = 0.1
REDIS_DOWN = (
    "Probes are paused: the bot cannot reach the store that keeps its probe limits across its processes, and it "
    "never probes unguarded. Try again in a few minutes."
)

_NOW = """
local now_parts = redis.call('TIME')
local now = now_parts[1] * 1000 + math.floor(now_parts[2] / 1000)
"""

# KEYS: user cooldown, guild starts, target starts, leases, waiters. ARGV: cooldown ms, guild cap, target cap,
# concurrency, queue limit, ticket, lease ms, hour ms, has guild (1/0), count (1) or only check (0).
# Returns {0, 1} admitted and running, {0, 0} admitted and queued, {1, wait ms} user, {2, wait ms} guild,
# {3, wait ms} target, {4, running, waiting} busy.
_ADMIT = (
    _NOW
    + """
local hour = tonumber(ARGV[8])
local wait = redis.call('PTTL', KEYS[1])
if wait > 0 then return {1, wait} end
local function cap_wait(key, cap)
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now - hour)
    if redis.call('ZCARD', key) < cap then return nil end
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    return math.max(1, tonumber(oldest[2]) + hour - now)
end
if ARGV[9] == '1' then
    wait = cap_wait(KEYS[2], tonumber(ARGV[2]))
    if wait then return {2, wait} end
end
wait = cap_wait(KEYS[3], tonumber(ARGV[3]))
if wait then return {3, wait} end
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', now)
local running = redis.call('ZCARD', KEYS[4])
local waiting = redis.call('ZCARD', KEYS[5])
local concurrency = tonumber(ARGV[4])
if running + waiting >= concurrency + tonumber(ARGV[5]) then return {4, running, waiting} end
if ARGV[10] ~= '1' then return {0, 0} end
local cooldown = tonumber(ARGV[1])
if cooldown > 0 then redis.call('SET', KEYS[1], '1', 'PX', cooldown) end
if ARGV[9] == '1' then
    redis.call('ZADD', KEYS[2], now, ARGV[6])
    redis.call('PEXPIRE', KEYS[2], hour)
end
redis.call('ZADD', KEYS[3], now, ARGV[6])
redis.call('PEXPIRE', KEYS[3], hour)
local expires = now + tonumber(ARGV[7])
if running < concurrency and waiting == 0 then
    redis.call('ZADD', KEYS[4], expires, ARGV[6])
    return {0, 1}
end
redis.call('ZADD', KEYS[5], expires, ARGV[6])
return {0, 0}
"""
)

# KEYS: leases, waiters. ARGV: concurrency, ticket, lease ms. A waiting ticket takes a lease when one is free
# (1), else renews its place in the queue (0).
_ACQUIRE = (
    _NOW
    + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local expires = now + tonumber(ARGV[3])
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
    redis.call('ZREM', KEYS[2], ARGV[2])
    redis.call('ZADD', KEYS[1], expires, ARGV[2])
    return 1
end
redis.call('ZADD', KEYS[2], expires, ARGV[2])
return 0
"""
)

# KEYS: leases. ARGV: ticket, lease ms. Pushes a running probe's lease further out.
_RENEW = (
    _NOW
    + """
return redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[2]), ARGV[1])
"""
)

# KEYS: target start sets. ARGV: cap, ticket, hour ms. All or nothing: {0}, or {index (1-based), wait ms}.
_TAKE_TARGETS = (
    _NOW
    + """
local cap, hour = tonumber(ARGV[1]), tonumber(ARGV[3])
for index, key in ipairs(KEYS) do
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now - hour)
    if redis.call('ZCARD', key) >= cap then
        local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
        return {index, math.max(1, tonumber(oldest[2]) + hour - now)}
    end
end
for _, key in ipairs(KEYS) do
    redis.call('ZADD', key, now, ARGV[2])
    redis.call('PEXPIRE', key, hour)
end
return {0}
"""
)


def _key(*parts: str) -> str:
    return KEY_PREFIX + "probe:" + ":".join(parts)


LEASES = _key("leases")
WAITERS = _key("waiters")


class SharedProbeGuard:
    """`ProbeLimits` kept in Redis. `running` and `waiting` count this process's own requests."""

    def __init__(
        self,
        settings: Settings,
        link: RedisLink,
        *,
        lease_seconds: float = LEASE_SECONDS,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        self._link = link
        self._cooldown = settings.probe_user_cooldown_seconds
        self._guild_cap = settings.probe_guild_hourly_cap
        self._target_cap = settings.probe_target_hourly_cap
        self._concurrency = settings.probe_concurrency
        self._queue_limit = settings.probe_queue_limit
        self._lease_ms = round(lease_seconds * 1000)
        self._poll_seconds = poll_seconds
        client = link.client
        self._admit = client.register_script(_ADMIT)
        self._acquire = client.register_script(_ACQUIRE)
        self._renew = client.register_script(_RENEW)
        self._take = client.register_script(_TAKE_TARGETS)
        self.running = 0
        self.waiting = 0
        self.peak_running = 0

    async def _run_admit(
        self, user_key: str, guild_key: str | None, target_key: str, ticket: str, *, count: bool
    ) -> bool:
        """Apply the rules (and count the request when `count`); True when it may run now, False when queued."""
        keys = [_key("user", user_key), _key("guild", guild_key or "-"), _key("target", target_key), LEASES, WAITERS]
        arguments: list[str | int] = [
            round(self._cooldown * 1000), self._guild_cap, self._target_cap, self._concurrency, self._queue_limit,
            ticket, self._lease_ms, round(HOUR * 1000), 1 if guild_key is not None else 0, 1 if count else 0,
        ]  # fmt: skip
        try:
            reply = await self._link.call(lambda client: self._admit(keys=keys, args=arguments, client=client))
        except RedisUnavailableError:
            raise ProbeRefused(REDIS_DOWN) from None
        code, *values = (int(value) for value in reply)
        if code == 1:
            raise user_refusal(self._cooldown, values[0] / 1000)
        if code == 2:
            raise guild_refusal(self._guild_cap, values[0] / 1000)
        if code == 3:
            raise target_refusal(target_key, self._target_cap, values[0] / 1000)
        if code == 4:
            raise busy_refusal(values[0], values[1])
        return bool(values[0])

    async def check(self, user_key: str, guild_key: str | None, target_key: str) -> None:
        await self._run_admit(user_key, guild_key, target_key, "", count=False)

    async def take_targets(self, target_keys: Iterable[str]) -> None:
        keys = list(dict.fromkeys(target_keys))
        if not keys:
            return
        arguments: list[str | int] = [self._target_cap, uuid.uuid4().hex, round(HOUR * 1000)]
        try:
            reply = await self._link.call(
                lambda client: self._take(keys=[_key("target", key) for key in keys], args=arguments, client=client)
            )
        except RedisUnavailableError:
            raise ProbeRefused(REDIS_DOWN) from None
        index, *wait = (int(value) for value in reply)
        if index:
            raise target_refusal(keys[index - 1], self._target_cap, wait[0] / 1000)

    async def _wait_for_lease(self, ticket: str) -> None:
        arguments: list[str | int] = [self._concurrency, ticket, self._lease_ms]
        while True:
            try:
                got = await self._link.call(
                    lambda client: self._acquire(keys=[LEASES, WAITERS], args=arguments, client=client)
                )
            except RedisUnavailableError:
                raise ProbeRefused(REDIS_DOWN) from None
            if int(got):
                return
            await asyncio.sleep(self._poll_seconds)

    async def _keep_lease(self, ticket: str) -> None:
        """Renew the lease a third of its life before it lapses, for as long as the probe runs."""
        arguments: list[str | int] = [ticket, self._lease_ms]
        while True:
            await asyncio.sleep(self._lease_ms / 3000)
            with contextlib.suppress(RedisUnavailableError):  # the lease lapses; the probe already running ends anyway
                await self._link.call(lambda client: self._renew(keys=[LEASES], args=arguments, client=client))

    async def _release(self, ticket: str) -> None:
        async def remove(client: Redis) -> None:
            pipe = client.pipeline(transaction=True)
            pipe.zrem(LEASES, ticket)
            pipe.zrem(WAITERS, ticket)
            await pipe.execute()

        with contextlib.suppress(RedisUnavailableError):  # it lapses by itself within LEASE_SECONDS
            await self._link.call(remove)

    @asynccontextmanager
    async def admit(self, user_key: str, guild_key: str | None, target_key: str) -> AsyncIterator[None]:
        ticket = uuid.uuid4().hex
        running = await self._run_admit(user_key, guild_key, target_key, ticket, count=True)
        try:
            if not running:
                self.waiting += 1
                try:
                    await self._wait_for_lease(ticket)
                finally:
                    self.waiting -= 1
            self.running += 1
            self.peak_running = max(self.peak_running, self.running)
            keeper = asyncio.create_task(self._keep_lease(ticket), name="guidenest: probe lease")
            try:
                yield
            finally:
                self.running -= 1
                keeper.cancel()
                await asyncio.gather(keeper, return_exceptions=True)
        finally:
            # Shielded: a cancelled probe still gives its slot back at once, not after the lease lapses.
            await asyncio.shield(self._release(ticket))
