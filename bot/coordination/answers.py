"""The answer limits kept in Redis, so that every process counts one member's answers and one channel's
cooldowns together; this process's own `Throttle` takes over while Redis is unreachable.

Each check-and-count is one Lua script, so it is atomic across processes, and it reads Redis' clock (TIME), so
that machines whose clocks differ still agree on a window. Keys expire with their window: nothing to prune.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from bot.conversation import Throttle
from bot.coordination.link import KEY_PREFIX, RedisUnavailableError

if TYPE_CHECKING:
    from bot.coordination.link import RedisLink

# KEYS[1]: the member's hits (a sorted set scored by time in ms). ARGV: limit, window ms, a unique member,
# and whether to count (1) or only look (0). Returns 1 when there is room.
_USER_WINDOW = """
local now_parts = redis.call('TIME')
local now = now_parts[1] * 1000 + math.floor(now_parts[2] / 1000)
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then
    return 0
end
if ARGV[4] == '1' then
    redis.call('ZADD', KEYS[1], now, ARGV[3])
    redis.call('PEXPIRE', KEYS[1], window)
end
return 1
"""


def _milliseconds(seconds: float) -> int:
    return max(1, round(seconds * 1000))


class RedisThrottle:
    """`AnswerLimits` in Redis, falling back to `local` (this process's memory) while Redis is unreachable."""

    def __init__(self, link: RedisLink, local: Throttle | None = None) -> None:
        self._link = link
        self.local = local if local is not None else Throttle()
        self._user_window = link.client.register_script(_USER_WINDOW)

    @staticmethod
    def _cooling_key(channel_id: int, entry_id: str) -> str:
        return f"{KEY_PREFIX}answer:cooling:{channel_id}:{entry_id}"

    @staticmethod
    def _user_key(user_id: int) -> str:
        return f"{KEY_PREFIX}answer:user:{user_id}"

    async def cooling_answer(self, channel_id: int, entry_id: str) -> int | None:
        key = self._cooling_key(channel_id, entry_id)
        try:
            value = await self._link.call(lambda client: client.get(key))
        except RedisUnavailableError:
            return await self.local.cooling_answer(channel_id, entry_id)
        return int(value) if value is not None else None

    async def claim_answer(self, channel_id: int, entry_id: str, cooldown_seconds: float) -> bool:
        if cooldown_seconds <= 0:
            return True
        key, ttl = self._cooling_key(channel_id, entry_id), _milliseconds(cooldown_seconds)
        try:
            # 0 is PENDING: the answer is being sent; its message id replaces it (note_answer).
            claimed = await self._link.call(lambda client: client.set(key, 0, px=ttl, nx=True))
        except RedisUnavailableError:
            return await self.local.claim_answer(channel_id, entry_id, cooldown_seconds)
        return bool(claimed)

    async def note_answer(self, channel_id: int, entry_id: str, message_id: int, cooldown_seconds: float) -> None:
        if cooldown_seconds <= 0:
            return
        key, ttl = self._cooling_key(channel_id, entry_id), _milliseconds(cooldown_seconds)
        try:
            await self._link.call(lambda client: client.set(key, message_id, px=ttl))
        except RedisUnavailableError:
            await self.local.note_answer(channel_id, entry_id, message_id, cooldown_seconds)

    async def forget_answer(self, channel_id: int, entry_id: str) -> None:
        key = self._cooling_key(channel_id, entry_id)
        try:
            await self._link.call(lambda client: client.delete(key))
        except RedisUnavailableError:
            await self.local.forget_answer(channel_id, entry_id)

    async def _window(self, user_id: int, limit: int, window_seconds: float, *, count: bool) -> bool | None:
        """Room in the member's window (counting one when `count`); None when Redis is unreachable."""
        arguments: list[str | int] = [limit, _milliseconds(window_seconds), uuid.uuid4().hex, 1 if count else 0]
        try:
            result = await self._link.call(
                lambda client: self._user_window(keys=[self._user_key(user_id)], args=arguments, client=client)
            )
        except RedisUnavailableError:
            return None
        return bool(int(result))

    async def user_has_room(self, user_id: int, limit: int, window_seconds: float) -> bool:
        room = await self._window(user_id, limit, window_seconds, count=False)
        return await self.local.user_has_room(user_id, limit, window_seconds) if room is None else room

    async def allow_user(self, user_id: int, limit: int, window_seconds: float) -> bool:
        room = await self._window(user_id, limit, window_seconds, count=True)
        return await self.local.allow_user(user_id, limit, window_seconds) if room is None else room
