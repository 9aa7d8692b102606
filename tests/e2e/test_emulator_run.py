"""`guidenest run` as a real process, pointed at the emulator only through its settings, answers a mention.

This exercises the whole product: the CLI, the settings (GUIDENEST_DISCORD_API_BASE / _GATEWAY_URL), the app
factory, the cogs and the knowledge base. EXPECTED BEHAVIOUR (the feature lives in bot/exts, not here): a
message that mentions the bot and asks "what port does imap use" gets a reply with an embed from the knowledge
base that names port 993; SIGTERM then stops the process with exit code 0 after a normal gateway close.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from tests.e2e.emulator import DefaultWorld, DiscordEmulator

REPO_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 20.0  # a cold interpreter imports discord.py and indexes the knowledge


def _environment(emulator: DiscordEmulator, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUIDENEST_") and k != "DISCORD_TOKEN"}
    world = emulator.world
    assert isinstance(world, DefaultWorld)
    env.update(
        DISCORD_TOKEN=world.token,
        GUIDENEST_DISCORD_API_BASE=emulator.api_base,
        GUIDENEST_DISCORD_GATEWAY_URL=emulator.gateway_url,
        GUIDENEST_DATABASE_PATH=str(tmp_path / "guidenest.sqlite3"),
        GUIDENEST_DEV_GUILD=str(world.guild.id),
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")])),
        PYTHONUNBUFFERED="1",
    )
    return env


async def test_guidenest_run_answers_a_mention_and_stops_on_sigterm(
    emulator: DiscordEmulator, tmp_path: Path
):
    world = emulator.world
    assert isinstance(world, DefaultWorld)
    # The entry point of the `guidenest` console script (bot.cli:main), run from a folder without a .env.
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        env=_environment(emulator, tmp_path),
        cwd=tmp_path,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    output = asyncio.gather(process.stdout.read(), process.stderr.read())  # type: ignore[union-attr]
    try:
        ready = asyncio.ensure_future(emulator.gateway.ready.wait_for(lambda _: True, timeout=START_TIMEOUT))
        exited = asyncio.ensure_future(process.wait())
        await asyncio.wait({ready, exited}, return_when=asyncio.FIRST_COMPLETED)
        if not ready.done():
            ready.cancel()
            stdout, stderr = await output
            raise AssertionError(
                f"guidenest run exited ({process.returncode}) before connecting:\n{stderr.decode()}"
            )
        exited.cancel()
        ready.result()

        mark = emulator.calls.mark()
        question = await emulator.inject_message(
            f"{world.bot_user.mention} what port does imap use", author=world.member, channel=world.help
        )
        reply = await emulator.calls.wait_for(
            lambda c: c.matches("POST", f"/channels/{world.help.id}/messages") and c.status == 200,
            since=mark,
            timeout=START_TIMEOUT,
            what="the bot's answer",
        )
        answer = emulator.message(int(reply.response["id"]))
        assert answer.embeds, "the answer should be an embed from the knowledge base"
        assert "993" in answer.text
        assert answer.reference_id == question.id

        process.send_signal(signal.SIGTERM)
        returncode = await asyncio.wait_for(process.wait(), START_TIMEOUT)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    stdout, stderr = await output
    assert returncode == 0, stderr.decode()
    assert b"Traceback" not in stdout + stderr
    assert world.token.encode() not in stdout + stderr
    closes = [frame.close_code for frame in emulator.gateway.frames if frame.direction == "close"]
    assert closes == [1000]
