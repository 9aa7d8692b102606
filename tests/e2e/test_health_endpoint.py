"""The health endpoint wired to the real bot: /healthz and /metrics before, during and after a session."""

from __future__ import annotations

import socket
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"health_port": _free_port()}


def _samples(text: str) -> dict[str, float]:
    return {
        sample.name + "".join(f"[{value}]" for value in sample.labels.values()): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_health_follows_the_bot_from_start_to_close(harness, e2e_settings) -> None:
    bot = harness.build()
    # Built, not logged in: the provider the endpoint uses says so.
    before = bot.health_status()
    assert before.gateway_connected is False
    assert before.latency_seconds is None

    await harness.start()
    assert bot.health_server is not None
    assert bot.health_server.port == e2e_settings.health_port
    base = f"http://127.0.0.1:{e2e_settings.health_port}"
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as client:
        async with client.get(f"{base}/healthz") as response:
            assert response.status == 200
            body = await response.json()
        assert body["gateway"]["connected"] is True
        assert body["knowledge"] == {"loaded": True, "entries": len(bot.knowledge.current.knowledge.entries)}

        question = await harness.send_message("what port does imap use", mention_bot=True)
        await harness.wait_for_reply(question)
        await harness.settle()
        async with client.get(f"{base}/metrics") as response:
            samples = _samples(await response.text())
        assert samples["guidenest_messages_seen_total"] == 1
        assert samples["guidenest_answers_total"] == 1
        assert samples["guidenest_abstentions_total"] == 0
        assert samples["guidenest_gateway_connected"] == 1
        assert samples["guidenest_knowledge_entries"] == body["knowledge"]["entries"]

        await harness.stop()
        assert bot.health_status().gateway_connected is False
        assert bot.health_server is None
        assert bot.storage.closed
        with pytest.raises(aiohttp.ClientConnectionError):
            await client.get(f"{base}/healthz")
