"""Under load: concurrent guild-settings reads share one query, and answer/miss writes go in batches that lose
nothing. Statements and transactions are counted with SQLAlchemy's events, on a real SQLite file and a real
PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import event

from bot.storage import Storage, StorageError
from tests.storage.conftest import execute, fetch

if TYPE_CHECKING:
    from pathlib import Path

    from tests.storage.conftest import FakeClock

GUILD = 1


class StatementLog:
    """Every statement the storage's engine runs, in order, with whether a transaction was open, and every
    transaction it began."""

    def __init__(self) -> None:
        self.statements: list[tuple[str, bool]] = []
        self.transactions = 0

    def statement(self, connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        self.statements.append((statement, connection.in_transaction()))

    def begin(self, _connection: Any) -> None:
        self.transactions += 1

    def count(self, fragment: str) -> int:
        return sum(1 for statement, _ in self.statements if fragment in statement)

    def outside_transactions(self, fragment: str) -> int:
        """Statements containing `fragment` run on their own (autocommit), not inside a transaction."""
        return sum(1 for statement, inside in self.statements if fragment in statement and not inside)


async def traced(storage: Storage) -> StatementLog:
    log = StatementLog()
    event.listen(storage.engine.sync_engine, "before_cursor_execute", log.statement)
    event.listen(storage.engine.sync_engine, "begin", log.begin)
    return log


async def stored(database: Path | str, sql: str) -> list[tuple[Any, ...]]:
    return await fetch(database, sql)


async def record_burst(storage: Storage, answers: int, misses: int) -> None:
    writes = [
        storage.record_answer(
            message_id=1000 + number,
            guild_id=GUILD,
            channel_id=10,
            entry_id="imap-ports",
            query=f"imap port {number}",
            suggestions=["smtp-ports"],
        )
        for number in range(answers)
    ]
    writes += [
        storage.record_miss(
            guild_id=GUILD, channel_id=10, text=f"chatter {number}", reason="no_match", entry_id=None, score=None
        )
        for number in range(misses)
    ]
    await asyncio.gather(*writes)


# --- one guild-settings query for many callers ---------------------------------------------------------------


async def test_concurrent_guild_config_reads_share_one_query(storage: Storage) -> None:
    await storage.set_channel_enabled(GUILD, 10, True)
    log = await traced(storage)
    configs = await asyncio.gather(*(storage.guild_config(GUILD) for _ in range(200)))
    assert log.count("FROM guild_config") == 1
    assert {config.enabled_channels for config in configs} == {frozenset({10})}
    # Once answered, the next caller asks again: the sharing is only for reads in flight, never a cache.
    await storage.guild_config(GUILD)
    assert log.count("FROM guild_config") == 2


async def test_each_guild_gets_its_own_query(storage: Storage) -> None:
    await storage.set_channel_enabled(2, 20, True)
    log = await traced(storage)
    first, second = await asyncio.gather(storage.guild_config(GUILD), storage.guild_config(2))
    assert log.count("FROM guild_config") == 2
    assert (first.enabled_channels, second.enabled_channels) == (frozenset(), frozenset({20}))


async def test_a_read_after_a_settings_change_never_shares_an_older_query(storage: Storage) -> None:
    # The first read is in flight (queued on the lock) when the channel is enabled; a read asked for after
    # the change must not be handed that older query's answer.
    older = asyncio.create_task(storage.guild_config(GUILD))
    await asyncio.sleep(0)
    await storage.set_channel_enabled(GUILD, 10, True)
    after_change = await storage.guild_config(GUILD)
    await older
    assert after_change.enabled_channels == frozenset({10})
    changed = await storage.update_guild_config(GUILD, user_rate_limit=3)
    assert changed.user_rate_limit == 3


async def test_a_caller_giving_up_does_not_cancel_the_shared_query(storage: Storage) -> None:
    await storage.set_channel_enabled(GUILD, 10, True)
    log = await traced(storage)
    impatient = asyncio.create_task(storage.guild_config(GUILD))
    patient = asyncio.create_task(storage.guild_config(GUILD))
    await asyncio.sleep(0)
    impatient.cancel()
    config = await patient
    assert config.enabled_channels == frozenset({10})
    with pytest.raises(asyncio.CancelledError):
        await impatient
    assert log.count("FROM guild_config") == 1


# --- answers and misses written in batches -------------------------------------------------------------------


async def test_a_burst_of_answers_and_misses_is_written_in_batches(storage: Storage, database: Path | str) -> None:
    log = await traced(storage)
    await record_burst(storage, answers=300, misses=300)
    # Every row is committed when its caller returns: another connection sees all of them.
    assert await stored(database, "SELECT COUNT(*) FROM answer") == [(300,)]
    assert await stored(database, "SELECT COUNT(*) FROM miss") == [(300,)]
    assert log.count("INSERT INTO answer") >= 1
    assert log.outside_transactions("INSERT INTO answer") == 0
    assert log.outside_transactions("INSERT INTO miss") == 0
    assert 1 <= log.transactions <= 5  # a handful of transactions for 600 rows
    # Misses keep the order they came in (top_misses calls the highest id the latest).
    texts = [text for (text,) in await stored(database, "SELECT text FROM miss ORDER BY id")]
    assert texts == [f"chatter {number}" for number in range(300)]


async def test_rows_still_queued_are_written_by_close(database: Path | str, clock: FakeClock) -> None:
    storage = await Storage.open(database, clock=clock)
    writes = asyncio.gather(
        *(
            storage.record_miss(
                guild_id=GUILD, channel_id=10, text=f"late {n}", reason="no_match", entry_id=None, score=None
            )
            for n in range(50)
        )
    )
    await asyncio.sleep(0)  # queued, not yet written
    await storage.close()
    await writes
    assert await stored(database, "SELECT COUNT(*) FROM miss") == [(50,)]


async def test_a_cancelled_caller_s_row_is_still_written(storage: Storage) -> None:
    waiting = asyncio.create_task(
        storage.record_miss(guild_id=GUILD, channel_id=10, text="gave up", reason="no_match", entry_id=None, score=None)
    )
    await asyncio.sleep(0)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert [row.text for row in await storage.top_misses(GUILD)] == ["gave up"]


async def test_a_refused_row_fails_only_its_own_caller(storage: Storage, database: Path | str, backend: str) -> None:
    if backend == "sqlite":
        await execute(
            database,
            "CREATE TRIGGER refuse_bad BEFORE INSERT ON miss WHEN NEW.text = 'bad'"
            " BEGIN SELECT RAISE(ABORT, 'refused by the test'); END",
        )
    else:
        await execute(database, "ALTER TABLE miss ADD CONSTRAINT refused_by_the_test CHECK (text <> 'bad')")
    texts = ["good 1", "bad", "good 2"]
    outcomes = await asyncio.gather(
        *(
            storage.record_miss(guild_id=GUILD, channel_id=10, text=text, reason="no_match", entry_id=None, score=None)
            for text in texts
        ),
        return_exceptions=True,
    )
    assert outcomes[0] is None
    assert outcomes[2] is None
    assert isinstance(outcomes[1], StorageError)
    assert "refused_by_the_test" in str(outcomes[1]) or "refused by the test" in str(outcomes[1])
    assert await stored(database, "SELECT text FROM miss ORDER BY id") == [("good 1",), ("good 2",)]


async def test_a_read_sees_rows_queued_before_it(storage: Storage) -> None:
    record = storage.record_miss(
        guild_id=GUILD, channel_id=10, text="just now", reason="no_match", entry_id=None, score=None
    )
    _, misses = await asyncio.gather(record, storage.top_misses(GUILD))
    assert [row.text for row in misses] == ["just now"]
