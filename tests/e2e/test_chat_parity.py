"""The bot in Discord and `guidenest chat` make the same decisions on the same messages.

Both ask the conversation service; this drives the real discord.py client against the emulator and the real
`guidenest chat` process with the same lines and the same settings, and compares what each said: an answer (by its
title), "not sure", a pointer to the answer just given, or silence.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.e2e.cogs_helpers import embed, enable_channel

if TYPE_CHECKING:
    from tests.e2e.harness import BotHarness

GUIDENEST = Path(sys.executable).with_name("guidenest")

QUESTIONS = [
    "535 5.7.8 Username and Password not accepted",  # confident
    "email not working",  # a best match, not confident
    "535 5.7.8 Username and Password not accepted",  # the same answer again, moments later
    "which port for imap",  # confident, another entry
    "thanks a lot, see you tomorrow!",  # chatter
]

# An error that npm, git and browsers print too: answered unasked only with a sign of mail.
OTHER_PROGRAMS = [
    "self signed certificate in certificate chain",  # no sign of mail: "not sure" when asked, else silent
    "nodemailer: self signed certificate in certificate chain",  # from a mail program: confident everywhere
]

SILENT = "(silent)"
POINTER = "(pointer)"


def chat_decisions(where: str, settings_env: dict[str, str], questions: list[str] = QUESTIONS) -> list[str]:
    """What `guidenest chat --as WHERE` said to each of `questions`, in order."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUIDENEST_")} | settings_env
    done = subprocess.run(
        [str(GUIDENEST), "chat", "--as", where],
        input="".join(f"{q}\n" for q in questions),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    decisions = []
    for line in done.stdout.splitlines():
        if line.startswith("== ") and line.endswith(" =="):
            decisions.append(line[3:-3])
        elif line.startswith("I answered that just above"):
            decisions.append(POINTER)
        elif line.startswith("(") and "would" in line:
            decisions.append(SILENT)
    return decisions


def same_settings(e2e: BotHarness) -> dict[str, str]:
    """The answering settings of the test bot, as the environment `guidenest chat` reads."""
    settings = e2e.bot.settings
    return {
        "GUIDENEST_DEFAULT_CONFIDENCE": settings.default_confidence.value,
        "GUIDENEST_ANSWER_COOLDOWN_SECONDS": str(settings.answer_cooldown_seconds),
        "GUIDENEST_USER_RATE_LIMIT": str(settings.user_rate_limit),
        "GUIDENEST_USER_RATE_WINDOW_SECONDS": str(settings.user_rate_window_seconds),
        "GUIDENEST_KNOWLEDGE_DIR": str(settings.knowledge_dir),
    }


async def bot_decisions(e2e: BotHarness, *, mention: bool, questions: list[str] = QUESTIONS) -> list[str]:
    world = e2e.world
    channel = world.general if mention else world.help
    decisions = []
    for question in questions:
        mark = e2e.emulator.created_messages.mark()
        sent = await e2e.send_message(question, channel=channel, mention_bot=mention)
        await e2e.settle()
        replies = e2e.emulator.bot_messages(channel.id, since=mark)
        if not replies:
            decisions.append(SILENT)
            continue
        assert len(replies) == 1
        (reply,) = replies
        assert reply.reference_id == sent.id
        if reply.content.startswith("I answered that just above"):
            decisions.append(POINTER)
        else:
            decisions.append(embed(reply)["title"])
    return decisions


@pytest.mark.parametrize("where", ["mention", "channel"])
async def test_bot_and_chat_decide_alike(e2e: BotHarness, where: str) -> None:
    if where == "channel":
        await enable_channel(e2e, e2e.world.help)
    in_discord = await bot_decisions(e2e, mention=where == "mention")
    on_console = chat_decisions(where, same_settings(e2e))
    assert on_console == in_discord
    # Not a vacuous match: the lines were chosen to draw every kind of decision there is for each place.
    if where == "mention":
        assert in_discord[1] == "Not sure"
        assert in_discord[2] == POINTER
        assert SILENT not in in_discord
    else:
        assert in_discord[1:3] == [SILENT, SILENT]
        assert in_discord[0] != SILENT
        assert in_discord[3] != SILENT


@pytest.mark.parametrize("where", ["mention", "channel"])
async def test_other_programs_errors_need_a_sign_of_mail_in_both(e2e: BotHarness, where: str) -> None:
    if where == "channel":
        await enable_channel(e2e, e2e.world.help)
    mark = e2e.emulator.created_messages.mark()
    in_discord = await bot_decisions(e2e, mention=where == "mention", questions=OTHER_PROGRAMS)
    on_console = chat_decisions(where, same_settings(e2e), OTHER_PROGRAMS)
    assert on_console == in_discord
    assert in_discord[0] == ("Not sure" if where == "mention" else SILENT)
    assert in_discord[1] not in (SILENT, POINTER, "Not sure")
    if where == "mention":  # asked, it says why it is not sure
        channel = e2e.world.general
        first = e2e.emulator.bot_messages(channel.id, since=mark)[0]
        assert embed(first)["description"].startswith("Many programs besides mail apps show this.")
