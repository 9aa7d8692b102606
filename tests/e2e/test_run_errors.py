"""`guidenest run` as a process against the emulator: what the operator is told when Discord refuses to start it.

Problems found before contacting Discord (knowledge, database, health port) are in tests/cli/test_run_cli.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.e2e.emulator.gateway import KNOWN_INTENTS
from tests.e2e.guidenest_process import DATABASE, GuidenestProcess, assert_database_closed, bot_environment

if TYPE_CHECKING:
    from pathlib import Path

    from tests.e2e.emulator import DiscordEmulator

WRONG_TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GwRong.this-token-was-reset-long-ago"


async def test_rejected_token_exits_2_with_the_portal_steps(emulator: DiscordEmulator, tmp_path: Path) -> None:
    process = await GuidenestProcess.start(bot_environment(emulator, tmp_path, WRONG_TOKEN), tmp_path)
    finished = await process.finish()

    assert finished.returncode == 2, finished.output
    assert "Discord rejected the bot token in DISCORD_TOKEN" in finished.stderr
    assert "Developer Portal → your application → Bot → Reset Token" in finished.stderr
    assert "Traceback" not in finished.output
    assert WRONG_TOKEN not in finished.output
    # It was Discord's answer to the login that was reported.
    logins = [call for call in emulator.calls if call.path == "/users/@me"]
    assert [call.status for call in logins] == [401]
    assert not emulator.gateway.connections  # never got as far as the gateway
    # The database, opened before logging in, was closed on the way out.
    assert_database_closed(tmp_path / DATABASE)


async def test_message_content_intent_off_exits_2_and_says_where_to_enable_it(
    emulator: DiscordEmulator, tmp_path: Path
) -> None:
    emulator.gateway.allowed_privileged_intents = 0  # the Developer Portal switch is off
    token = emulator.world.token
    process = await GuidenestProcess.start(bot_environment(emulator, tmp_path, token), tmp_path)
    finished = await process.finish()

    assert finished.returncode == 2, finished.output
    assert "Message Content intent is off" in finished.stderr
    steps = "Developer Portal → your application → Bot → Privileged Gateway Intents → enable MESSAGE CONTENT"
    assert steps in finished.stderr
    assert "Traceback" not in finished.output
    assert token not in finished.output
    closes = [frame.close_code for frame in emulator.gateway.frames if frame.direction == "close"]
    assert closes == [4014]
    # The database, opened before logging in, was closed on the way out.
    assert_database_closed(tmp_path / DATABASE)


async def test_gateway_rejecting_the_token_exits_2_and_says_so(emulator: DiscordEmulator, tmp_path: Path) -> None:
    # The REST login accepts the token, IDENTIFY does not: the token was reset in between.
    emulator.gateway.accepted_token = "the-token-after-a-reset"
    token = emulator.world.token
    process = await GuidenestProcess.start(bot_environment(emulator, tmp_path, token), tmp_path)
    finished = await process.finish()

    assert finished.returncode == 2, finished.output
    assert "Discord's gateway rejected the bot token in DISCORD_TOKEN (close code 4004)" in finished.stderr
    assert "Developer Portal → your application → Bot → Reset Token" in finished.stderr
    assert "Traceback" not in finished.output
    assert token not in finished.output
    closes = [frame.close_code for frame in emulator.gateway.frames if frame.direction == "close"]
    assert closes == [4004]  # refused once, not retried
    assert_database_closed(tmp_path / DATABASE)


async def test_invalid_intents_exit_2_and_say_it_is_a_version_mismatch(
    emulator: DiscordEmulator, tmp_path: Path
) -> None:
    # A gateway that predates an intent discord.py sends (bit 25, direct message polls) refuses the IDENTIFY.
    emulator.gateway.known_intents = KNOWN_INTENTS & ~(1 << 25)
    token = emulator.world.token
    process = await GuidenestProcess.start(bot_environment(emulator, tmp_path, token), tmp_path)
    finished = await process.finish()

    assert finished.returncode == 2, finished.output
    assert "refused the intents the bot asked for as invalid (close code 4013)" in finished.stderr
    assert "Update\nGuide Nest" in finished.stderr
    assert "Traceback" not in finished.output
    assert token not in finished.output
    closes = [frame.close_code for frame in emulator.gateway.frames if frame.direction == "close"]
    assert closes == [4013]
    assert_database_closed(tmp_path / DATABASE)
