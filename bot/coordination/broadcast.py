"""Telling every process of the bot that something changed: Redis publish/subscribe on one channel.

Two events: the knowledge was reloaded (`/kb reload`: every process reloads its files), and a server's settings
changed (`/config`: every process drops its cached copy). A message is JSON with the event, the guild when there
is one, the sending process (which ignores its own) and, for a reload, the knowledge generation: a counter in
Redis raised by each reload. Publish/subscribe delivers only to those listening, so after an outage the listener
compares the generation it last saw with Redis' and reloads when one was missed, and drops every cached server
setting (`RESYNC`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from typing import TYPE_CHECKING, Any

from redis.exceptions import RedisError

from bot.coordination.events import EVENTS, KNOWLEDGE_RELOADED, RESYNC, Event, Handler
from bot.coordination.link import KEY_PREFIX, RedisUnavailableError, short_error

if TYPE_CHECKING:

    from redis.asyncio import Redis

    from bot.coordination.link import RedisLink

log = logging.getLogger(__name__)

CHANNEL = KEY_PREFIX + "events"
GENERATION = KEY_PREFIX + "knowledge:generation"
# How long the listener waits for a message before checking that it should still run.
READ_TIMEOUT_SECONDS = 1.0


def _parse(data: Any) -> tuple[str, Event] | None:
    """(origin, event) from a message, or None when it is not one of ours (logged)."""
    try:
        message = json.loads(data)
        kind, origin = message["event"], message["origin"]
        numbers = guild_id, generation = message.get("guild_id"), message.get("generation")
    except (ValueError, TypeError, KeyError):
        message = None
    if (
        message is None
        or kind not in EVENTS
        or not isinstance(origin, str)
        or not all(value is None or (type(value) is int and value >= 0) for value in numbers)
    ):
        log.warning("ignored a message on %s that is not a Guide Nest event: %r", CHANNEL, str(data)[:80])
        return None
    return origin, Event(kind, guild_id, generation)


class Broadcast:
    def __init__(self, link: RedisLink, handler: Handler) -> None:
        self._link = link
        self._handler = handler
        # This process, so that it skips its own messages (it acted on them when it sent them).
        self.origin = uuid.uuid4().hex
        self._task: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._listen(), name="guidenest: broadcast listener")

    async def wait_subscribed(self) -> None:
        """Until the listener is subscribed (the tests' and the start-up's way to know events will arrive)."""
        await self._subscribed.wait()

    async def publish(self, kind: str, *, guild_id: int | None = None, generation: int | None = None) -> None:
        """Send an event to the other processes; while Redis is down it is lost (they resync on recovery)."""
        message = json.dumps({"event": kind, "origin": self.origin, "guild_id": guild_id, "generation": generation})
        with contextlib.suppress(RedisUnavailableError):
            await self._link.call(lambda client: client.publish(CHANNEL, message))

    async def knowledge_reloaded(self) -> int | None:
        """After this process reloaded its knowledge: raise the generation and tell the others. The new
        generation, or None when Redis is unreachable."""
        try:
            generation = int(await self._link.call(lambda client: client.incr(GENERATION)))
        except RedisUnavailableError:
            return None
        await self.publish(KNOWLEDGE_RELOADED, generation=generation)
        return generation

    async def generation(self) -> int | None:
        try:
            value = await self._link.call(lambda client: client.get(GENERATION))
        except RedisUnavailableError:
            return None
        return int(value) if value is not None else 0

    async def _listen(self) -> None:
        first = True
        while True:
            if not self._link.up:
                await asyncio.sleep(READ_TIMEOUT_SECONDS)
                continue
            try:
                await self._listen_once(self._link.client, resync=not first)
            except (RedisError, OSError, TimeoutError) as exc:
                self._subscribed.clear()
                self._link.mark_down(exc)
                log.debug("broadcast listener lost Redis: %s", short_error(exc))
            first = False

    async def _listen_once(self, client: Redis, *, resync: bool) -> None:
        async with client.pubsub(ignore_subscribe_messages=True) as pubsub:
            await pubsub.subscribe(CHANNEL)
            self._subscribed.set()
            if resync:
                await self._deliver(Event(RESYNC, generation=await self.generation()))
            while True:
                message = await pubsub.get_message(timeout=READ_TIMEOUT_SECONDS)
                if message is None or message.get("type") != "message":
                    continue
                parsed = _parse(message.get("data"))
                if parsed is not None and parsed[0] != self.origin:
                    await self._deliver(parsed[1])

    async def _deliver(self, event: Event) -> None:
        try:
            await self._handler(event)
        except Exception:  # a failing handler is a bug; the listener keeps listening
            log.exception("handling the broadcast event %s failed", event.kind)

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
