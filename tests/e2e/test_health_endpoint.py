"""The health endpoint wired to the real bot: /healthz and /metrics before, during and after a session."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import make_url

from tests.ports import free_port

if TYPE_CHECKING:
    from tests.pg import PostgresServer



@pytest.fixture
def database_backend() -> str:
    return "sqlite"


@pytest.fixture
def settings_overrides(database_backend: str, request: pytest.FixtureRequest) -> dict[str, Any]:
    overrides: dict[str, Any] = {"health_port": free_port()}
    if database_backend == "postgresql":
        overrides["database_url"] = request.getfixturevalue("postgres_server").create_database()
    return overrides


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
        assert body["database"] == {"ok": True, "backend": "sqlite", "error": None}

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
        assert samples["guidenest_dependency_up[database]"] == 1

        await harness.stop()
        assert bot.health_status().gateway_connected is False
        assert bot.health_server is None
        assert bot.storage.closed
        with pytest.raises(aiohttp.ClientConnectionError):
            await client.get(f"{base}/healthz")


@pytest.mark.parametrize("database_backend", ["postgresql"])
async def test_a_database_that_stops_answering_makes_the_bot_unhealthy_until_it_is_back(
    harness, e2e_settings, postgres_server: PostgresServer, caplog: pytest.LogCaptureFixture
) -> None:
    harness.build()
    await harness.start()
    name = make_url(e2e_settings.database_url.get_secret_value()).database
    healthz = f"http://127.0.0.1:{e2e_settings.health_port}/healthz"
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as client:
        async with client.get(healthz) as response:
            assert (response.status, (await response.json())["database"]) == (
                200,
                {"ok": True, "backend": "postgresql", "error": None},
            )
        # The bot's database stops taking connections, and the bot's own connection is ended.
        postgres_server.psql(
            f"ALTER DATABASE {name} ALLOW_CONNECTIONS false;"
            f" SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
        )
        try:
            with caplog.at_level(logging.WARNING, logger="bot.health"):
                async with client.get(healthz) as response:
                    assert response.status == 503
                    body = await response.json()
            assert body["status"] == "unhealthy"
            assert body["gateway"]["connected"] is True  # only the database is wrong
            assert body["database"]["ok"] is False
            assert f'database "{name}" is not currently accepting connections' in body["database"]["error"]
            assert "health check: database is down" in caplog.text
        finally:
            postgres_server.psql(f"ALTER DATABASE {name} ALLOW_CONNECTIONS true")
        async with client.get(healthz) as response:
            assert response.status == 200
