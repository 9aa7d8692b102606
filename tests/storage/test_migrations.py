"""Opening, WAL mode and schema migrations, on real SQLite files."""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from typing import TYPE_CHECKING

import pytest

from bot.storage import EntryFeedback, Storage, StorageError
from bot.storage.migrations import MIGRATIONS, statements

if TYPE_CHECKING:
    from pathlib import Path


def _raw(path: Path) -> closing[sqlite3.Connection]:
    # sqlite3's own context manager commits but does not close; closing() does.
    return closing(sqlite3.connect(path, isolation_level=None))


def _tables(path: Path) -> set[str]:
    with _raw(path) as connection:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return {name for (name,) in rows}


async def test_new_database_gets_every_migration_and_wal(db_path: Path) -> None:
    storage = await Storage.open(db_path)
    try:
        assert storage.schema_version == len(MIGRATIONS) >= 2
        with _raw(db_path) as connection:
            assert connection.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
            # journal_mode=WAL is stored in the file, so a second connection sees it.
            assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db_path.with_name(db_path.name + "-wal").exists()
    finally:
        await storage.close()
    # The last connection to close checkpoints the write-ahead log into the file and removes it.
    assert not db_path.with_name(db_path.name + "-wal").exists()
    assert {"guild_config", "enabled_channel", "answer", "vote", "miss", "probe_audit"} <= _tables(db_path)


async def test_creates_missing_parent_folder(tmp_path: Path) -> None:
    path = tmp_path / "state" / "nested" / "bot.sqlite3"
    storage = await Storage.open(path)
    await storage.close()
    assert path.is_file()


async def test_database_from_migration_1_is_upgraded_and_keeps_its_data(db_path: Path) -> None:
    old = await Storage.open(db_path, migrations=MIGRATIONS[:1])
    assert old.schema_version == 1
    await old.set_channel_enabled(7, 70, True)
    await old.close()
    # Written as the version-1 code wrote it: today's code reads columns that version 1 does not have.
    with closing(sqlite3.connect(db_path)) as connection, connection:
        connection.execute(
            "INSERT INTO guild_config (guild_id, confidence, moderator_role_id, updated_at)"
            " VALUES (7, 'strict', 99, '2026-01-01T00:00:00+00:00')"
        )
    old = await Storage.open(db_path, migrations=MIGRATIONS[:1])
    await old.record_answer(
        message_id=1000, guild_id=7, channel_id=70, entry_id="smtp-535", query="535 5.7.8", suggestions=["a"]
    )
    await old.record_vote(message_id=1000, user_id=5, entry_id="smtp-535", helpful=False, guild_id=7)
    await old.close()
    assert "probe_audit" not in _tables(db_path)

    upgraded = await Storage.open(db_path)
    try:
        assert upgraded.schema_version == len(MIGRATIONS)
        config = await upgraded.guild_config(7)
        assert config.enabled_channels == frozenset({70})
        assert config.confidence == "strict"
        assert config.moderator_role_id == 99
        assert await upgraded.worst_entries(7) == [EntryFeedback("smtp-535", helpful=0, not_helpful=1)]
        record = await upgraded.answer(1000)
        assert record is not None
        assert record.entry_id == "smtp-535"
        # The table migration 2 added is usable.
        await upgraded.record_probe(
            user_id=5,
            guild_id=7,
            action="probe",
            target="mail.example",
            address=None,
            outcome="ok",
            duration_ms=3,
        )
        assert [row.target for row in await upgraded.probe_history(7)] == ["mail.example"]
    finally:
        await upgraded.close()


async def test_reopening_an_up_to_date_database_changes_nothing(db_path: Path) -> None:
    first = await Storage.open(db_path)
    await first.update_guild_config(1, user_rate_limit=3)
    await first.close()
    second = await Storage.open(db_path)
    try:
        assert second.schema_version == len(MIGRATIONS)
        assert (await second.guild_config(1)).user_rate_limit == 3
    finally:
        await second.close()


async def test_failed_migration_is_rolled_back_whole(db_path: Path) -> None:
    broken = (*MIGRATIONS[:1], "CREATE TABLE half_done (a INTEGER);\nCREATE TABLE half_done (b INTEGER);\n")
    with pytest.raises(StorageError, match="migration to schema version 2 failed"):
        await Storage.open(db_path, migrations=broken)
    with _raw(db_path) as connection:
        assert connection.execute("PRAGMA user_version").fetchone()[0] == 1
    # Migration 1 committed on its own; the first statement of the failed one did not survive.
    assert "half_done" not in _tables(db_path)
    assert "guild_config" in _tables(db_path)


async def test_newer_schema_is_refused(db_path: Path) -> None:
    with _raw(db_path) as connection:
        connection.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 5}")
    with pytest.raises(StorageError, match="newer than this Guide Nest understands"):
        await Storage.open(db_path)


async def test_a_file_that_is_not_a_database_is_refused_clearly(db_path: Path) -> None:
    await asyncio.to_thread(db_path.write_bytes, b"this is a text file, not SQLite\n" * 200)
    with pytest.raises(StorageError, match=str(db_path.name)):
        await Storage.open(db_path)


async def test_two_processes_opening_a_new_file_at_once_migrate_it_once(db_path: Path) -> None:
    opened = await asyncio.gather(Storage.open(db_path), Storage.open(db_path), Storage.open(db_path))
    try:
        assert {storage.schema_version for storage in opened} == {len(MIGRATIONS)}
    finally:
        for storage in opened:
            await storage.close()


def test_statements_split_on_real_boundaries_only() -> None:
    script = """
    -- a comment; with a semicolon
    CREATE TABLE t (note TEXT DEFAULT 'a;b');
    CREATE TRIGGER t_ins AFTER INSERT ON t BEGIN
        UPDATE t SET note = 'x;y' WHERE rowid = new.rowid;
    END;
    -- trailing comment
    """
    found = list(statements(script))
    assert len(found) == 2
    assert found[0].endswith("DEFAULT 'a;b');")
    assert found[1].startswith("CREATE TRIGGER")
    assert found[1].endswith("END;")


def test_statements_refuse_an_unfinished_statement() -> None:
    with pytest.raises(ValueError, match="incomplete SQL"):
        list(statements("CREATE TABLE t (a INTEGER);\nCREATE TABLE u (b INTEGER)\n"))


def test_every_shipped_migration_parses() -> None:
    for script in MIGRATIONS:
        for statement in statements(script):
            assert sqlite3.complete_statement(statement)
