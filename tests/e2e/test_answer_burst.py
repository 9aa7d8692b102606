"""A burst of messages right after `/config channel`: one guild-settings query for all of them, and every
answer and miss in the database, both while the bot runs and once it has closed (benchmarks/answer_burst.py
measures the same burst's speed)."""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from typing import Any

import pytest
from sqlalchemy import event

from tests.e2e.cogs_helpers import enable_channel

BURST = 90
QUESTIONS = ("what port does imap use", "smtp 587 or 465?", "gmail imap settings")


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    # Every message counts: no cooldown on repeating an answer, no per-member limit in reach.
    return {"answer_cooldown_seconds": 0, "user_rate_limit": 10_000}


def burst_texts() -> list[str]:
    return [
        f"my cat sat on the keyboard ({number})" if number % 3 == 2 else QUESTIONS[number % len(QUESTIONS)]
        for number in range(BURST)
    ]


def stored_counts(path) -> tuple[int, int]:
    with closing(sqlite3.connect(path)) as connection:
        answers = connection.execute("SELECT COUNT(*) FROM answer").fetchone()[0]
        misses = connection.execute("SELECT COUNT(*) FROM miss").fetchone()[0]
    return answers, misses


async def test_a_burst_after_config_channel_reads_settings_once_and_loses_no_row(e2e):
    world = e2e.world
    settings_queries: list[str] = []
    event.listen(
        e2e.bot.storage.engine.sync_engine,
        "before_cursor_execute",
        lambda _c, _cur, sql, *_: settings_queries.append(sql) if "FROM guild_config" in sql else None,
    )
    await enable_channel(e2e, world.help)
    settings_queries.clear()  # /config channel reads them itself
    mark = e2e.emulator.created_messages.mark()
    authors = [world.member, world.helper]
    for number, text in enumerate(burst_texts()):
        await e2e.send_message(text, channel=world.help, author=authors[number % 2])
    await e2e.settle(timeout=30)

    assert len(settings_queries) == 1
    replies = e2e.emulator.bot_messages(world.help.id, since=mark)
    expected_misses = sum(1 for text in burst_texts() if text.startswith("my cat"))
    assert len(replies) == BURST - expected_misses
    for reply in replies:
        record = await e2e.bot.storage.answer(reply.id)
        assert record is not None, f"no answer row for {reply}"
    assert stored_counts(e2e.settings.database_path) == (len(replies), expected_misses)

    await e2e.stop()
    assert stored_counts(e2e.settings.database_path) == (len(replies), expected_misses)


async def test_a_settings_read_that_began_before_a_change_is_not_cached(e2e, monkeypatch):
    """The answering cog must not keep settings read before `/config channel` changed them."""
    world = e2e.world
    storage = e2e.bot.storage
    read_settings = storage.guild_config
    started, release = asyncio.Event(), asyncio.Event()

    async def first_read_held(guild_id: int):
        config = await read_settings(guild_id)
        if not started.is_set():  # the first read, the answering cog's: it returns after the change
            started.set()
            await release.wait()
        return config

    monkeypatch.setattr(storage, "guild_config", first_read_held)
    mark = e2e.emulator.created_messages.mark()
    await e2e.send_message("what port does imap use", channel=world.help)
    await asyncio.wait_for(started.wait(), timeout=5)
    await enable_channel(e2e, world.help)
    release.set()
    await e2e.settle()
    answers = [m for m in e2e.emulator.bot_messages(world.help.id, since=mark) if m.interaction_id is None]
    assert not answers  # help was not enabled when it was asked

    question = await e2e.send_message("smtp 587 or 465?", channel=world.help)
    answer = await e2e.wait_for_reply(question)
    assert answer.embeds
