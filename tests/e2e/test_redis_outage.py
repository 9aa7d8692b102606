"""The real bot on a real Redis that goes away and comes back: probes refused (never unguarded), answers go on
with the process's own limits, a warning, a metric and /healthz say so, and everything resumes by itself."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest

from bot.coordination.probes import REDIS_DOWN
from tests.e2e.cogs_helpers import embed
from tests.ports import free_port

if TYPE_CHECKING:
    from tests.redis_server import RedisServer

# Nothing listens here: a probe is admitted, connects, is refused by the address and reports that.
NOBODY = "127.0.4.20"



@pytest.fixture
def settings_overrides(own_redis: RedisServer) -> dict[str, Any]:
    return {
        "redis_url": own_redis.url,
        "health_port": free_port(),
        "probe_allow_networks": "127.0.0.0/8",
        "probe_user_cooldown_seconds": 0,
        "user_rate_limit": 2,
    }


async def healthz(port: int) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as client, client.get(f"http://127.0.0.1:{port}/healthz") as response:
        return response.status, await response.json()


async def test_a_redis_outage_refuses_probes_keeps_answering_and_recovers(
    e2e, own_redis: RedisServer, e2e_settings, caplog: pytest.LogCaptureFixture
) -> None:
    world = e2e.world
    link = e2e.bot.coordination.link
    assert link is not None
    assert (await healthz(e2e_settings.health_port))[1]["status"] == "ok"
    first = await (await e2e.slash("probe", user=world.moderator, host=NOBODY, port=993)).reply()
    assert embed(first)["title"].startswith("Probe: IMAP 127.0.4.20")

    own_redis.stop()
    with caplog.at_level(logging.WARNING):
        # The first call that fails marks Redis down: here the answer limit, on the next question.
        answer = await e2e.wait_for_reply(await e2e.send_message("what port does imap use", mention_bot=True))
        assert "993" in embed(answer)["description"]
        assert not link.up
        refused = await (await e2e.slash("probe", user=world.moderator, host=NOBODY, port=995)).reply()
        assert refused.ephemeral
        assert embed(refused)["title"] == "Refused"
        assert embed(refused)["description"] == REDIS_DOWN
        # The local limit (2 answers a minute) holds meanwhile: the third question in a row gets no answer.
        await e2e.wait_for_reply(await e2e.send_message("what port does pop3 use", mention_bot=True))
        mark = e2e.emulator.created_messages.mark()
        await e2e.send_message("what port does smtp use", mention_bot=True)
        await e2e.expect_no_bot_message(since=mark)
    status, body = await healthz(e2e_settings.health_port)
    assert (status, body["status"]) == (200, "degraded")
    assert body["redis"]["ok"] is False
    assert body["redis"]["error"]
    assert e2e.bot.metrics.redis_outages.value() == 1
    outage = [r for r in caplog.records if r.name.startswith("bot.coordination") and "unreachable" in r.getMessage()]
    assert [r.levelno for r in outage] == [logging.WARNING]
    assert own_redis.url not in caplog.text

    own_redis.start()
    for _ in range(100):
        if link.up:
            break
        await asyncio.sleep(0.1)
    assert link.up
    again = await (await e2e.slash("probe", user=world.moderator, host=NOBODY, port=995)).reply()
    assert embed(again)["title"].startswith("Probe: POP3 127.0.4.20")
    assert (await healthz(e2e_settings.health_port))[1]["status"] == "ok"
