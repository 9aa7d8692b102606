"""The answer limits in a real Redis: shared by every process, atomic, and replaced by local ones in an outage."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from bot.conversation import PENDING
from bot.coordination.answers import RedisThrottle
from bot.metrics import Metrics

if TYPE_CHECKING:
    from collections.abc import Callable

    import pytest

    from bot.coordination.link import RedisLink
    from tests.redis_server import RedisServer


async def test_a_cooldown_claimed_by_one_process_holds_in_another(
    redis_url: str, links: Callable[..., RedisLink]
) -> None:
    first, second = RedisThrottle(links(redis_url)), RedisThrottle(links(redis_url))
    assert await first.claim_answer(1, "imap-ports", cooldown_seconds=60)
    assert not await second.claim_answer(1, "imap-ports", cooldown_seconds=60)
    assert await second.cooling_answer(1, "imap-ports") == PENDING
    await first.note_answer(1, "imap-ports", message_id=500, cooldown_seconds=60)
    assert await second.cooling_answer(1, "imap-ports") == 500
    assert await second.cooling_answer(2, "imap-ports") is None  # another channel
    assert await second.claim_answer(1, "pop3-ports", cooldown_seconds=60)  # another entry
    await second.forget_answer(1, "imap-ports")
    assert await first.claim_answer(1, "imap-ports", cooldown_seconds=60)


async def test_a_cooldown_ends_when_its_time_is_up(redis_url: str, links: Callable[..., RedisLink]) -> None:
    throttle = RedisThrottle(links(redis_url))
    await throttle.note_answer(1, "imap-ports", message_id=500, cooldown_seconds=0.2)
    assert await throttle.cooling_answer(1, "imap-ports") == 500
    await asyncio.sleep(0.3)
    assert await throttle.cooling_answer(1, "imap-ports") is None
    assert await throttle.claim_answer(1, "imap-ports", cooldown_seconds=0)  # no cooldown: never held
    assert await throttle.cooling_answer(1, "imap-ports") is None


async def test_copies_racing_from_many_processes_are_answered_once(
    redis_url: str, links: Callable[..., RedisLink]
) -> None:
    throttles = [RedisThrottle(links(redis_url)) for _ in range(4)]
    claims = await asyncio.gather(*(t.claim_answer(9, "smtp-ports", 60) for t in throttles for _ in range(10)))
    assert claims.count(True) == 1


async def test_the_per_member_limit_counts_every_process(redis_url: str, links: Callable[..., RedisLink]) -> None:
    throttles = [RedisThrottle(links(redis_url)) for _ in range(3)]
    allowed = await asyncio.gather(*(t.allow_user(7, 5, 60) for t in throttles for _ in range(8)))
    assert allowed.count(True) == 5
    assert not await throttles[0].user_has_room(7, 5, 60)
    assert await throttles[1].user_has_room(8, 5, 60)  # someone else is not affected
    assert all([await throttles[2].user_has_room(8, 1, 60) for _ in range(3)])  # looking counts nothing


async def test_the_member_window_slides(redis_url: str, links: Callable[..., RedisLink]) -> None:
    throttle = RedisThrottle(links(redis_url))
    assert [await throttle.allow_user(7, 2, 0.3) for _ in range(3)] == [True, True, False]
    await asyncio.sleep(0.35)
    assert await throttle.allow_user(7, 2, 0.3)


async def test_an_outage_falls_back_to_local_limits_and_recovers(
    own_redis: RedisServer, links: Callable[..., RedisLink], caplog: pytest.LogCaptureFixture
) -> None:
    metrics = Metrics()
    link = links(own_redis.url, metrics)
    throttle = RedisThrottle(link)
    assert await throttle.allow_user(7, 1, 60)
    own_redis.stop()
    with caplog.at_level(logging.WARNING, logger="bot.coordination"):
        # The local limits start from nothing: member 7 gets one answer here, as a fresh process would give.
        assert await throttle.allow_user(7, 1, 60)
        assert not await throttle.allow_user(7, 1, 60)
        assert await throttle.claim_answer(1, "imap-ports", 60)
        assert not await throttle.claim_answer(1, "imap-ports", 60)
    assert not link.up
    assert metrics.redis_outages.value() == 1
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "unreachable" in r.getMessage()]
    assert len(warnings) == 1  # one line per outage, not one per call
    assert own_redis.url not in caplog.text
    own_redis.start()  # empty: Redis restarted without its data
    for _ in range(100):
        if link.up:
            break
        await asyncio.sleep(0.05)
    assert link.up
    assert await throttle.allow_user(7, 1, 60)  # counted in Redis again
    assert await throttle.claim_answer(1, "imap-ports", 60)
    assert metrics.redis_outages.value() == 1
