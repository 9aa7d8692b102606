"""Guild settings, answers, votes, misses and the probe audit log, on a real SQLite file and a real PostgreSQL."""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest

from bot.settings import Confidence
from bot.storage import EntryFeedback, GuildConfig, Storage, StorageError
from tests.storage.conftest import fetch

if TYPE_CHECKING:
    from pathlib import Path

    from tests.storage.conftest import FakeClock

# --- per-guild settings -------------------------------------------------------------------------------------


async def test_guild_without_a_row_gets_the_defaults(storage: Storage) -> None:
    config = await storage.guild_config(123)
    assert config == GuildConfig(guild_id=123)
    assert config.enabled_channels == frozenset()
    assert config.confidence is None
    assert config.answer_cooldown_seconds is None
    assert config.user_rate_limit is None
    assert config.moderator_role_id is None
    assert config.mailsettings_public is False
    assert not config.channel_enabled(1)


async def test_channels_are_enabled_and_disabled_per_guild(storage: Storage) -> None:
    await storage.set_channel_enabled(1, 10, True)
    await storage.set_channel_enabled(1, 10, True)  # twice is the same as once
    await storage.set_channel_enabled(1, 11, True)
    await storage.set_channel_enabled(2, 20, True)
    await storage.set_channel_enabled(1, 11, False)
    await storage.set_channel_enabled(1, 12, False)  # disabling what was never enabled is fine

    assert (await storage.guild_config(1)).enabled_channels == frozenset({10})
    assert (await storage.guild_config(2)).enabled_channels == frozenset({20})
    assert (await storage.guild_config(1)).channel_enabled(10)
    # Enabling a channel does not invent settings for the guild.
    assert (await storage.guild_config(1)).confidence is None


async def test_update_changes_only_the_given_settings(storage: Storage) -> None:
    config = await storage.update_guild_config(5, confidence="relaxed", answer_cooldown_seconds=15)
    assert config.confidence is Confidence.RELAXED
    assert config.answer_cooldown_seconds == 15.0
    assert config.user_rate_limit is None

    config = await storage.update_guild_config(
        5, user_rate_limit=2, moderator_role_id=777, mailsettings_public=True
    )
    assert (config.confidence, config.answer_cooldown_seconds) == (Confidence.RELAXED, 15.0)
    assert (config.user_rate_limit, config.moderator_role_id, config.mailsettings_public) == (2, 777, True)

    # None puts one setting back to the bot-wide default and leaves the rest.
    config = await storage.update_guild_config(5, confidence=None, moderator_role_id=None)
    assert config.confidence is None
    assert config.moderator_role_id is None
    assert config.user_rate_limit == 2
    assert config.mailsettings_public is True
    assert await storage.guild_config(5) == config

    # No keywords: nothing changes, the current settings come back.
    assert await storage.update_guild_config(5) == config
    assert await storage.update_guild_config(6) == GuildConfig(guild_id=6)


async def test_update_accepts_the_enum_and_refuses_bad_values(storage: Storage) -> None:
    assert (await storage.update_guild_config(5, confidence=Confidence.STRICT)).confidence == "strict"
    with pytest.raises(ValueError, match="confidence"):
        await storage.update_guild_config(5, confidence="sometimes")
    with pytest.raises(ValueError, match="answer_cooldown_seconds"):
        await storage.update_guild_config(5, answer_cooldown_seconds=-1)
    with pytest.raises(ValueError, match="answer_cooldown_seconds"):
        await storage.update_guild_config(5, answer_cooldown_seconds=float("nan"))
    with pytest.raises(ValueError, match="user_rate_limit"):
        await storage.update_guild_config(5, user_rate_limit=0)
    assert (await storage.guild_config(5)).confidence is Confidence.STRICT


# --- answers and votes --------------------------------------------------------------------------------------


async def test_answer_record_round_trips_and_is_replaced_when_switched(
    storage: Storage, clock: FakeClock
) -> None:
    assert await storage.answer(1) is None
    await storage.record_answer(
        message_id=1,
        guild_id=None,
        channel_id=9,
        entry_id="imap-ports",
        query="which port imap",
        suggestions=[],
    )
    await storage.record_answer(
        message_id=2,
        guild_id=3,
        channel_id=4,
        entry_id="smtp-535",
        query="535 5.7.8 *bold* <@123>",
        suggestions=("app-passwords", "smtp-auth"),
    )
    record = await storage.answer(2)
    assert record is not None
    assert (record.guild_id, record.channel_id, record.entry_id) == (3, 4, "smtp-535")
    assert record.query == "535 5.7.8 *bold* <@123>"
    assert record.suggestions == ("app-passwords", "smtp-auth")
    assert record.created_at == clock.now

    clock.advance(minutes=5)
    await storage.record_answer(
        message_id=2,
        guild_id=3,
        channel_id=4,
        entry_id="app-passwords",
        query="535 5.7.8",
        suggestions=["smtp-535"],
    )
    switched = await storage.answer(2)
    assert switched is not None
    assert (switched.entry_id, switched.suggestions) == ("app-passwords", ("smtp-535",))
    assert switched.created_at == record.created_at  # still the time the message was posted
    dm_answer = await storage.answer(1)
    assert dm_answer is not None
    assert dm_answer.guild_id is None


async def _stored_votes(database: Path | str, message_id: int) -> dict[int, bool]:
    """Each user's stored vote on one answer message (helpful or not), read on another connection."""
    rows = await fetch(database, "SELECT user_id, helpful FROM vote WHERE message_id = :m", m=message_id)
    return {user: bool(helpful) for user, helpful in rows}


async def test_voting_again_replaces_the_earlier_vote(storage: Storage, database: Path | str) -> None:
    assert await _stored_votes(database, 50) == {}
    await storage.record_vote(message_id=50, user_id=1, entry_id="e", helpful=True, guild_id=1)
    await storage.record_vote(message_id=50, user_id=2, entry_id="e", helpful=True, guild_id=1)
    assert await _stored_votes(database, 50) == {1: True, 2: True}

    await storage.record_vote(message_id=50, user_id=1, entry_id="e", helpful=False, guild_id=1)
    assert await _stored_votes(database, 50) == {1: False, 2: True}
    await storage.record_vote(message_id=50, user_id=1, entry_id="e", helpful=False, guild_id=1)
    assert await _stored_votes(database, 50) == {1: False, 2: True}

    # The same user on another answer is another vote.
    await storage.record_vote(message_id=51, user_id=1, entry_id="e", helpful=False, guild_id=1)
    assert await _stored_votes(database, 51) == {1: False}
    assert await _stored_votes(database, 50) == {1: False, 2: True}

    # A changed vote moves between entries too (the answer was switched before the user re-voted).
    await storage.record_vote(message_id=51, user_id=1, entry_id="f", helpful=False, guild_id=1)
    worst = {row.entry_id: (row.helpful, row.not_helpful) for row in await storage.worst_entries(1)}
    assert worst == {"e": (1, 1), "f": (0, 1)}


async def _votes(
    storage: Storage, guild_id: int | None, entry_id: str, up: int, down: int, start: int
) -> int:
    for user in range(up + down):
        await storage.record_vote(
            message_id=start, user_id=user, entry_id=entry_id, helpful=user < up, guild_id=guild_id
        )
    return start + 1


async def test_worst_entries_rank_by_share_of_thumbs_down(storage: Storage) -> None:
    message = 100
    message = await _votes(storage, 1, "mostly-bad", up=1, down=6, start=message)
    message = await _votes(storage, 1, "one-early-down", up=0, down=1, start=message)
    message = await _votes(storage, 1, "mixed", up=5, down=5, start=message)
    message = await _votes(storage, 1, "liked", up=9, down=1, start=message)
    message = await _votes(storage, 1, "never-down", up=3, down=0, start=message)
    message = await _votes(storage, 2, "other-guild", up=0, down=20, start=message)
    await _votes(storage, None, "in-a-dm", up=0, down=2, start=message)

    ranked = await storage.worst_entries(1)
    assert [row.entry_id for row in ranked] == ["mostly-bad", "one-early-down", "mixed", "liked"]
    assert (ranked[0].helpful, ranked[0].not_helpful, ranked[0].votes) == (1, 6, 7)
    assert [row.entry_id for row in await storage.worst_entries(1, limit=2)] == [
        "mostly-bad",
        "one-early-down",
    ]
    assert [row.entry_id for row in await storage.worst_entries(2)] == ["other-guild"]
    assert await storage.worst_entries(3) == []

    everywhere = [row.entry_id for row in await storage.worst_entries(None, limit=10)]
    assert everywhere[0] == "other-guild"
    assert {"in-a-dm", "mostly-bad"} <= set(everywhere)
    assert "never-down" not in everywhere
    with pytest.raises(ValueError, match="limit"):
        await storage.worst_entries(1, limit=0)


# --- misses -------------------------------------------------------------------------------------------------


async def _miss(storage: Storage, text: str, guild_id: int | None = 1, **extra: object) -> None:
    fields: dict[str, object] = {"channel_id": 10, "reason": "no_match", "entry_id": None, "score": None}
    fields.update(extra)
    await storage.record_miss(guild_id=guild_id, text=text, **fields)  # type: ignore[arg-type]


async def test_misses_are_grouped_by_text_ignoring_case_spacing_and_punctuation(
    storage: Storage, clock: FakeClock
) -> None:
    await _miss(storage, "Cannot connect to server!")
    clock.advance(seconds=1)
    await _miss(storage, "cannot   connect to\u200b server")
    clock.advance(seconds=1)
    await _miss(storage, "thanks")
    clock.advance(seconds=1)
    await _miss(storage, "CANNOT CONNECT TO SERVER?", reason="downvoted", entry_id="conn-refused", score=71.5)
    clock.advance(seconds=1)
    await _miss(storage, "what is port 2525")
    clock.advance(seconds=1)
    await _miss(storage, "What is port 2525?")
    clock.advance(seconds=1)
    await _miss(storage, "cannot connect to server", guild_id=2)

    rows = await storage.top_misses(1)
    assert [(row.count, row.text) for row in rows] == [
        (3, "CANNOT CONNECT TO SERVER?"),  # the latest wording stands for the group
        (2, "What is port 2525?"),
        (1, "thanks"),
    ]
    top = rows[0]
    assert (top.reason, top.entry_id, top.score) == ("downvoted", "conn-refused", 71.5)
    assert top.last_seen == datetime(2024, 5, 1, 12, 0, 3, tzinfo=UTC)
    assert [row.count for row in await storage.top_misses(1, limit=1)] == [3]
    assert [(row.count, row.text) for row in await storage.top_misses(2)] == [(1, "cannot connect to server")]
    assert (await storage.top_misses(None))[0].count == 4


async def test_miss_groups_of_equal_size_list_the_most_recent_first(
    storage: Storage, clock: FakeClock
) -> None:
    for text in ("older question", "newer question"):
        await _miss(storage, text)
        clock.advance(minutes=1)
    assert [row.text for row in await storage.top_misses(1)] == ["newer question", "older question"]


async def test_miss_text_is_capped_and_reason_checked(storage: Storage) -> None:
    await _miss(storage, "x" * 5000)
    (row,) = await storage.top_misses(1)
    assert len(row.text) == 1000
    with pytest.raises(ValueError, match="reason"):
        await _miss(storage, "hello", reason="bored")


async def test_punctuation_only_misses_still_group(storage: Storage) -> None:
    await _miss(storage, "???")
    await _miss(storage, "???")
    await _miss(storage, "!!!")
    assert sorted((row.text, row.count) for row in await storage.top_misses(1)) == [("!!!", 1), ("???", 2)]


async def test_retention_purge_deletes_only_expired_misses(storage: Storage, clock: FakeClock) -> None:
    await _miss(storage, "forty days old")
    clock.advance(days=10)
    await _miss(storage, "thirty days old")
    clock.advance(days=20)
    await _miss(storage, "ten days old")
    clock.advance(days=10)
    await _miss(storage, "today")
    await storage.record_vote(message_id=1, user_id=1, entry_id="e", helpful=False, guild_id=1)

    assert await storage.purge_expired(30) == 1  # only the 40-day-old one is past 30 days
    assert sorted(row.text for row in await storage.top_misses(None)) == [
        "ten days old",
        "thirty days old",
        "today",
    ]
    assert await storage.purge_expired(30) == 0  # idempotent
    assert await storage.purge_expired(5, now=clock.now) == 2
    assert [row.text for row in await storage.top_misses(None)] == ["today"]
    # Votes are not misses: the vote stays.
    assert await storage.worst_entries(1) == [EntryFeedback("e", helpful=0, not_helpful=1)]

    with pytest.raises(ValueError, match="timezone"):
        await storage.purge_expired(5, now=datetime(2030, 1, 1))  # noqa: DTZ001 - the point of the test


async def test_retention_forgets_old_questions_but_keeps_the_answers(storage: Storage, clock: FakeClock) -> None:
    await storage.record_answer(
        message_id=1, guild_id=1, channel_id=2, entry_id="imap-ports", query="old question", suggestions=["a"]
    )
    clock.advance(days=20)
    await storage.record_answer(
        message_id=2, guild_id=1, channel_id=2, entry_id="pop3-ports", query="new question", suggestions=[]
    )
    clock.advance(days=15)
    await storage.purge_expired(30)
    old, new = await storage.answer(1), await storage.answer(2)
    assert old is not None
    assert new is not None
    assert (old.query, old.entry_id, old.suggestions) == ("", "imap-ports", ("a",))
    assert new.query == "new question"


# --- probe audit log ----------------------------------------------------------------------------------------


async def test_probe_history_is_newest_first_and_filtered_by_guild(
    storage: Storage, clock: FakeClock
) -> None:
    for index, guild_id in enumerate([1, 2, 1, None, 1]):
        await storage.record_probe(
            user_id=100 + index,
            guild_id=guild_id,
            action="probe" if index % 2 == 0 else "discover",
            target=f"mail{index}.example",
            address=f"127.0.0.{index + 1}" if index != 3 else None,
            outcome="ok" if index != 2 else "refused: private address",
            duration_ms=10 * index,
        )
        clock.advance(seconds=30)
    # Two in the same instant keep the order they were recorded in.
    await storage.record_probe(
        user_id=7, guild_id=1, action="probe", target="same-a", address=None, outcome="timeout", duration_ms=1
    )
    await storage.record_probe(
        user_id=7, guild_id=1, action="probe", target="same-b", address=None, outcome="timeout", duration_ms=1
    )

    history = await storage.probe_history(1)
    assert [row.target for row in history] == [
        "same-b",
        "same-a",
        "mail4.example",
        "mail2.example",
        "mail0.example",
    ]
    third = history[3]
    assert (third.user_id, third.guild_id, third.action, third.address) == (102, 1, "probe", "127.0.0.3")
    assert third.outcome == "refused: private address"
    assert third.duration_ms == 20
    assert third.at == datetime(2024, 5, 1, 12, 1, tzinfo=UTC)
    assert [row.target for row in await storage.probe_history(1, limit=2)] == ["same-b", "same-a"]
    assert [row.target for row in await storage.probe_history(2)] == ["mail1.example"]
    assert len(await storage.probe_history(None, limit=50)) == 7
    assert (await storage.probe_history(None, limit=50))[2].action == "probe"

    with pytest.raises(ValueError, match="action"):
        await storage.record_probe(
            user_id=1, guild_id=1, action="scan", target="x", address=None, outcome="ok", duration_ms=1
        )


# --- concurrency --------------------------------------------------------------------------------------------


async def test_two_writers_on_one_database_lose_nothing(database: Path | str) -> None:
    first = await Storage.open(database)
    second = await Storage.open(database)
    try:

        async def write(storage: Storage, offset: int) -> None:
            await asyncio.gather(
                *(
                    storage.record_vote(
                        message_id=1, user_id=offset + user, entry_id="e", helpful=user % 2 == 0, guild_id=1
                    )
                    for user in range(150)
                ),
                *(_miss(storage, f"question {offset + n}") for n in range(150)),
                *(storage.set_channel_enabled(1, offset + n, True) for n in range(50)),
                *(storage.update_guild_config(1, user_rate_limit=1 + n) for n in range(20)),
            )

        await asyncio.gather(write(first, 0), write(second, 10_000))
        assert await first.worst_entries(1) == [EntryFeedback("e", helpful=150, not_helpful=150)]
        assert len(await second.top_misses(None, limit=1000)) == 300
        assert len((await first.guild_config(1)).enabled_channels) == 100
    finally:
        await first.close()
        await second.close()


@pytest.mark.parametrize("backend", ["sqlite"])  # SQLite's file lock; PostgreSQL locks rows
async def test_a_writer_waits_for_another_and_readers_are_not_blocked(
    storage: Storage, db_path: Path
) -> None:
    await storage.record_vote(message_id=1, user_id=1, entry_id="e", helpful=False, guild_id=1)
    with closing(sqlite3.connect(db_path, isolation_level=None)) as other:
        other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        other.execute("INSERT INTO vote VALUES (1, 2, 1, 'e', 1, '2024-01-01T00:00:00.000000+00:00')")

        waiting = asyncio.create_task(
            storage.record_vote(message_id=1, user_id=3, entry_id="e", helpful=True, guild_id=1)
        )
        await asyncio.sleep(0.2)
        assert not waiting.done()  # waiting for the lock, not failing with "database is locked"

        # WAL: a reader on another connection proceeds meanwhile and sees only committed data. (This
        # Storage's own connection is busy waiting: one connection runs one statement at a time.)
        reader = await Storage.open(db_path)
        try:
            # The committed 👎 without the uncommitted 👍.
            committed = [EntryFeedback("e", helpful=0, not_helpful=1)]
            assert await asyncio.wait_for(reader.worst_entries(1), 2) == committed
        finally:
            await reader.close()

        other.execute("COMMIT")
    await asyncio.wait_for(waiting, 5)
    assert await storage.worst_entries(1) == [EntryFeedback("e", helpful=2, not_helpful=1)]


async def test_closed_storage_refuses_work_clearly(database: Path | str) -> None:
    storage = await Storage.open(database)
    await storage.close()
    await storage.close()  # closing twice (signal handler and exit path) is harmless
    with pytest.raises(StorageError, match="closed"):
        await storage.guild_config(1)
    with pytest.raises(StorageError, match="closed"):
        await storage.record_vote(message_id=1, user_id=1, entry_id="e", helpful=True, guild_id=None)
