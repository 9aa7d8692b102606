"""Events between processes over a real Redis: delivered to the others, not echoed, garbage ignored, and a
resync after an outage."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import TYPE_CHECKING

import pytest

from bot.coordination.broadcast import CHANNEL, Broadcast
from bot.coordination.events import GUILD_CONFIG_CHANGED, KNOWLEDGE_RELOADED, RESYNC, Event

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    from bot.coordination.link import RedisLink
    from tests.redis_server import RedisServer


class Listener:
    def __init__(self, link: RedisLink) -> None:
        self.events: asyncio.Queue[Event] = asyncio.Queue()
        self.broadcast = Broadcast(link, self._handle)

    async def _handle(self, event: Event) -> None:
        await self.events.put(event)

    async def next(self) -> Event:
        return await asyncio.wait_for(self.events.get(), 10)


@pytest.fixture
async def listeners() -> AsyncIterator[Callable[[RedisLink], Listener]]:
    started: list[Listener] = []

    def start(link: RedisLink) -> Listener:
        listener = Listener(link)
        listener.broadcast.start()
        started.append(listener)
        return listener

    yield start
    for listener in started:
        await listener.broadcast.close()


async def test_events_reach_the_other_processes_only(
    redis_url: str, links: Callable[..., RedisLink], listeners: Callable[[RedisLink], Listener]
) -> None:
    one, two, three = (listeners(links(redis_url)) for _ in range(3))
    for listener in (one, two, three):
        await asyncio.wait_for(listener.broadcast.wait_subscribed(), 10)
    await one.broadcast.publish(GUILD_CONFIG_CHANGED, guild_id=5)
    assert await two.next() == Event(GUILD_CONFIG_CHANGED, 5, None)
    assert await three.next() == Event(GUILD_CONFIG_CHANGED, 5, None)
    generation = await two.broadcast.knowledge_reloaded()
    assert generation == 1
    assert await one.next() == Event(KNOWLEDGE_RELOADED, None, 1)
    assert await three.next() == Event(KNOWLEDGE_RELOADED, None, 1)
    assert await three.broadcast.generation() == 1
    await asyncio.sleep(0.1)
    assert one.events.empty()  # its own event was not handed back to it
    assert two.events.empty()


async def test_a_message_that_is_not_an_event_is_ignored(
    redis_url: str,
    links: Callable[..., RedisLink],
    listeners: Callable[[RedisLink], Listener],
    caplog: pytest.LogCaptureFixture,
) -> None:
    link = links(redis_url)
    listener = listeners(link)
    await asyncio.wait_for(listener.broadcast.wait_subscribed(), 10)
    garbage = [
        "not json",
        json.dumps([1, 2]),
        json.dumps({"event": "drop_tables", "origin": "x"}),
        json.dumps({"event": GUILD_CONFIG_CHANGED, "origin": "x", "guild_id": "5; --"}),
        json.dumps({"event": GUILD_CONFIG_CHANGED, "origin": "x", "guild_id": True}),
        json.dumps({"event": KNOWLEDGE_RELOADED, "origin": 7}),
    ]
    with caplog.at_level(logging.WARNING, logger="bot.coordination.broadcast"):
        for message in garbage:
            await link.client.publish(CHANNEL, message)
        await link.client.publish(CHANNEL, json.dumps({"event": GUILD_CONFIG_CHANGED, "origin": "x", "guild_id": 9}))
        assert await listener.next() == Event(GUILD_CONFIG_CHANGED, 9, None)  # the listener lives on
    ignored = [r for r in caplog.records if "not a Guide Nest event" in r.getMessage()]
    assert len(ignored) == len(garbage)
    assert all(r.levelno == logging.WARNING for r in ignored)


async def test_after_an_outage_the_listener_resyncs(
    own_redis: RedisServer, links: Callable[..., RedisLink], listeners: Callable[[RedisLink], Listener]
) -> None:
    link = links(own_redis.url)
    listener = listeners(link)
    await asyncio.wait_for(listener.broadcast.wait_subscribed(), 10)
    await link.client.set("guidenest:knowledge:generation", 4)
    own_redis.stop()
    for _ in range(100):  # the listener notices the lost connection itself
        if not link.up:
            break
        await asyncio.sleep(0.05)
    assert not link.up
    own_redis.start()  # restarted empty: the generation is back to 0, and events sent meanwhile are lost
    assert await listener.next() == Event(RESYNC, None, 0)
    other = links(own_redis.url)
    await Broadcast(other, listener.events.put).publish(GUILD_CONFIG_CHANGED, guild_id=3)
    assert await listener.next() == Event(GUILD_CONFIG_CHANGED, 3, None)
