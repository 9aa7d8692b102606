"""`guidenest run` as a real process, pointed at the emulator only through its settings: starts, answers,
serves /healthz, and stops cleanly on each signal.

This exercises the whole product: the CLI, the settings (GUIDENEST_DISCORD_API_BASE / _GATEWAY_URL), the app
factory, the cogs and the knowledge base. Each run checks as much as it can, since starting the process is
what costs time; there is one run per signal.
"""

from __future__ import annotations

import asyncio
import signal
from typing import TYPE_CHECKING

import aiohttp
import pytest

from tests.e2e.emulator import DefaultWorld
from tests.e2e.guidenest_process import (
    DATABASE,
    EXIT_TIMEOUT,
    GuidenestProcess,
    assert_database_closed,
    assert_stopped_cleanly,
    bot_environment,
    until_ready,
)
from tests.ports import free_port

if TYPE_CHECKING:
    from pathlib import Path

    from tests.e2e.emulator import DiscordEmulator



async def test_sigterm_after_answering_a_mention_closes_gateway_and_database_and_exits_0(
    emulator: DiscordEmulator, tmp_path: Path
) -> None:
    world = emulator.world
    assert isinstance(world, DefaultWorld)
    token = world.token
    # DEBUG: the most discord.py ever logs; the token must still appear nowhere.
    env = bot_environment(emulator, tmp_path, token, dev_guild=str(world.guild.id), log_level="DEBUG")
    # The entry point of the `guidenest` console script (bot.cli:main), run from a folder without a .env.
    process = await GuidenestProcess.start(env, tmp_path)
    try:
        await until_ready(emulator, process)
        assert (tmp_path / f"{DATABASE}-wal").exists()  # the database is open

        # EXPECTED BEHAVIOUR (the feature lives in bot/exts): a mention asking about the IMAP port gets a reply
        # with an embed from the knowledge base naming 993.
        mark = emulator.calls.mark()
        question = await emulator.inject_message(
            f"{world.bot_user.mention} what port does imap use", author=world.member, channel=world.help
        )
        reply = await emulator.calls.wait_for(
            lambda c: c.matches("POST", f"/channels/{world.help.id}/messages") and c.status == 200,
            since=mark,
            timeout=EXIT_TIMEOUT,
            what="the bot's answer",
        )
        answer = emulator.message(int(reply.response["id"]))
        assert answer.embeds, "the answer should be an embed from the knowledge base"
        assert "993" in answer.text
        assert answer.reference_id == question.id

        process.send(signal.SIGTERM)
        finished = await process.finish()
    finally:
        process.kill()

    assert_stopped_cleanly(finished, emulator, tmp_path, signal.SIGTERM, token)


async def test_sigint_with_health_endpoint_serving_stops_all_of_it_and_exits_0(
    emulator: DiscordEmulator, tmp_path: Path
) -> None:
    token = emulator.world.token
    port = free_port()
    env = bot_environment(emulator, tmp_path, token, health_port=str(port), log_level="DEBUG")
    process = await GuidenestProcess.start(env, tmp_path)
    healthz = f"http://127.0.0.1:{port}/healthz"
    try:
        await until_ready(emulator, process)
        assert (tmp_path / f"{DATABASE}-wal").exists()  # the database is open
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as client:
            # READY is followed by discord.py's wait for the guilds to stream in (guild_ready_timeout, 2 s):
            # 503 until then, which is the point of the endpoint.
            loop = asyncio.get_running_loop()
            deadline = loop.time() + EXIT_TIMEOUT
            statuses = []
            while True:
                async with client.get(healthz) as response:
                    statuses.append(response.status)
                    body = await response.json()
                if response.status == 200 or loop.time() > deadline:
                    break
                await asyncio.sleep(0.1)
            assert statuses[-1] == 200, body
            assert set(statuses) <= {200, 503}
            assert body["gateway"]["connected"] is True
            assert body["knowledge"]["loaded"] is True
            assert body["knowledge"]["entries"] > 0

            async with client.get(f"http://127.0.0.1:{port}/metrics") as response:
                assert response.status == 200
                metrics = await response.text()
            assert "guidenest_gateway_connected 1\n" in metrics
            assert "# TYPE guidenest_answer_latency_seconds histogram" in metrics

            process.send(signal.SIGINT)
            finished = await process.finish()
            assert finished.returncode == 0, finished.output
            with pytest.raises(aiohttp.ClientConnectionError):
                await client.get(healthz)
    finally:
        process.kill()

    assert_stopped_cleanly(finished, emulator, tmp_path, signal.SIGINT, token)


async def test_a_signal_during_start_still_stops_cleanly(emulator: DiscordEmulator, tmp_path: Path) -> None:
    token = emulator.world.token
    process = await GuidenestProcess.start(bot_environment(emulator, tmp_path, token), tmp_path)
    try:
        # The login request: signal handlers are in place, setup (commands, cogs) is under way.
        await emulator.calls.wait_for(
            lambda call: call.path == "/users/@me", timeout=EXIT_TIMEOUT, what="the login request"
        )
        process.send(signal.SIGTERM)
        finished = await process.finish()
    finally:
        process.kill()

    assert finished.returncode == 0, finished.output
    assert "SIGTERM received, shutting down" in finished.stderr
    assert "Traceback" not in finished.output
    # Opened before login, closed again on the way out.
    assert_database_closed(tmp_path / DATABASE)
