"""REST faults as Discord sends them, and the guards that turn swallowed errors into failed tests.

The gateway faults (dropped connection, RESUME, fresh IDENTIFY, INVALID_SESSION) are in
test_emulator_gateway.py.
"""

from __future__ import annotations

import asyncio
import contextlib

import discord
import pytest

import bot.app
from tests.e2e.harness import bot_failures, violation_failures
from tests.e2e.sample_commands import Seen, add_sample_commands

pytestmark = pytest.mark.without_cogs

MESSAGES = "/channels/{id}/messages"


async def test_a_429_is_retried_after_retry_after_and_the_message_arrives(e2e):
    channel = e2e.bot.get_channel(e2e.world.help.id)
    e2e.faults.rate_limit(method="POST", path=MESSAGES, retry_after=0.2)
    loop = asyncio.get_running_loop()
    started = loop.time()
    sent = await channel.send("after the rate limit")
    waited = loop.time() - started
    limited, delivered = e2e.emulator.calls.find(lambda c: c.matches("POST", MESSAGES))
    assert (limited.status, limited.fault) == (429, "429 rate limit")
    assert limited.response["retry_after"] == 0.2
    assert delivered.status == 200
    assert delivered.json == limited.json
    assert waited >= 0.2  # the client honoured retry_after
    assert [m.content for m in e2e.emulator.bot_messages()] == ["after the rate limit"]
    assert sent.id == e2e.emulator.bot_messages()[0].id


async def test_a_global_429_is_retried_too(e2e):
    e2e.faults.rate_limit(retry_after=0.05, is_global=True, times=2)
    await e2e.bot.get_channel(e2e.world.help.id).send("after two global limits")
    statuses = [call.status for call in e2e.emulator.calls.find(lambda c: c.matches("POST", MESSAGES))]
    assert statuses == [429, 429, 200]


async def test_a_429_without_via_header_would_not_be_retried(e2e):
    """The emulator sends what Discord sends: the client treats a 429 without `Via` as a Cloudflare ban."""
    fault = e2e.faults.rate_limit(path=MESSAGES)
    response, body, _ = fault.response()
    assert response.headers["Via"]
    assert response.content_type == "application/json"
    assert set(body) == {"message", "retry_after", "global"}
    e2e.faults.clear()


async def test_a_429_on_an_interaction_reply_is_retried_and_the_reply_arrives(harness):
    add_sample_commands(harness.build(), Seen())
    await harness.start()
    harness.faults.rate_limit(method="POST", path="/interactions/{id}/.*/callback", retry_after=0.05)
    interaction = await harness.slash("emu echo", text="rate limited")
    assert (await interaction.reply()).content == "rate limited x1"
    callbacks = harness.emulator.calls.find(lambda c: "/callback" in c.path)
    assert [c.status for c in callbacks] == [429, 200]


async def test_a_500_is_retried_and_the_message_arrives(e2e):
    e2e.faults.server_error(status=500, method="POST", path=MESSAGES)
    await e2e.bot.get_channel(e2e.world.help.id).send("after a server error")  # discord.py waits 1 s
    statuses = [call.status for call in e2e.emulator.calls.find(lambda c: c.matches("POST", MESSAGES))]
    assert statuses == [500, 200]
    assert len(e2e.emulator.bot_messages()) == 1


async def test_a_503_is_retried_like_a_500_and_the_message_arrives(e2e):
    # discord.py alone hands a 503 to the caller; the factory's bot retries it (bot/app.py).
    e2e.faults.server_error(status=503, path=MESSAGES)
    await e2e.bot.get_channel(e2e.world.help.id).send("after a 503")
    statuses = [call.status for call in e2e.emulator.calls.find(lambda c: c.matches("POST", MESSAGES))]
    assert statuses == [503, 200]
    assert [m.content for m in e2e.emulator.bot_messages()] == ["after a 503"]


async def test_503s_past_the_retries_reach_the_caller(e2e, monkeypatch):
    monkeypatch.setattr(bot.app, "RETRY_503_DELAYS", (0.01,) * 4)
    e2e.faults.server_error(status=503, path=MESSAGES, times=5)
    with pytest.raises(discord.DiscordServerError):
        await e2e.bot.get_channel(e2e.world.help.id).send("lost")
    statuses = [call.status for call in e2e.emulator.calls.find(lambda c: c.matches("POST", MESSAGES))]
    assert statuses == [503] * 5
    assert e2e.emulator.bot_messages() == []


async def test_an_exception_in_a_handler_fails_the_test(e2e, log_guard):
    async def on_message(message: discord.Message) -> None:
        raise RuntimeError("handler bug")

    e2e.bot.add_listener(on_message)
    await e2e.send_message("trigger")
    await e2e.settle()
    # discord.py only logged it; the guard makes the teardown fail with it.
    failures = bot_failures(e2e.emulator, log_guard)
    assert len(failures) == 1
    assert "handler bug" in failures[0]
    assert "on_message" in failures[0]
    log_guard.take()
    assert bot_failures(e2e.emulator, log_guard) == []


async def test_a_request_over_a_limit_fails_the_test_even_if_the_bot_swallows_the_error(e2e):
    # A bot that catches the error would hide it, but the emulator kept the violation.
    with contextlib.suppress(discord.HTTPException):
        await e2e.bot.get_channel(e2e.world.help.id).send("x" * 2001)
    (failure,) = violation_failures(e2e.emulator)
    assert "content: Must be 2000 or fewer in length." in failure
    e2e.emulator.take_violations()
    assert violation_failures(e2e.emulator) == []


async def test_a_route_the_emulator_lacks_fails_the_test(e2e):
    with pytest.raises(discord.NotFound):
        await e2e.bot.http.request(
            discord.http.Route("GET", "/guilds/{guild_id}/bans", guild_id=e2e.world.guild.id)
        )
    (violation,) = e2e.emulator.take_violations("unsupported-route")
    assert "GET /guilds/" in str(violation)
