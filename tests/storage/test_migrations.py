"""Opening, WAL mode and the Alembic migration history, on real SQLite files and a real PostgreSQL; adopting
files of the SQLite-only releases (schema versions in PRAGMA user_version) with their data."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from contextlib import closing
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import inspect

from bot.storage import EntryFeedback, Storage, StorageError
from bot.storage import schema as tables
from bot.storage.engine import create_engine, database_url
from bot.storage.migrations import SCHEMA_VERSION, SCRIPTS, revisions
from tests.storage.conftest import execute, fetch
from tests.storage.legacy_schema import LEGACY_MIGRATIONS, make_legacy_database

if TYPE_CHECKING:
    from pathlib import Path


def _raw(path: Path) -> closing[sqlite3.Connection]:
    # sqlite3's own context manager commits but does not close; closing() does.
    return closing(sqlite3.connect(path, isolation_level=None))


async def _columns(database: Path | str) -> dict[str, set[str]]:
    engine = create_engine(database_url(database))
    try:
        async with engine.connect() as connection:

            def read(sync: object) -> dict[str, set[str]]:
                found = inspect(sync)
                return {
                    name: {column["name"] for column in found.get_columns(name)} for name in found.get_table_names()
                }

            return await connection.run_sync(read)
    finally:
        await engine.dispose()


async def test_the_history_builds_the_schema_the_code_uses(database: Path | str) -> None:
    storage = await Storage.open(database)
    await storage.close()
    assert storage.schema_version == SCHEMA_VERSION == len(revisions()) == len(LEGACY_MIGRATIONS)
    built = await _columns(database)
    expected = {table.name: {column.name for column in table.columns} for table in tables.TABLES}
    assert {name: built[name] for name in expected} == expected
    assert set(built) == {*expected, "alembic_version"}
    assert await fetch(database, "SELECT version_num FROM alembic_version") == [(revisions()[-1],)]


async def test_new_sqlite_file_is_in_wal_mode_and_keeps_user_version(db_path: Path) -> None:
    storage = await Storage.open(db_path)
    try:
        with _raw(db_path) as connection:
            # Kept equal to the schema version, so an older release refuses a file migrated past it.
            assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
            # journal_mode=WAL is stored in the file, so a second connection sees it.
            assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db_path.with_name(db_path.name + "-wal").exists()
    finally:
        await storage.close()
    # The last connection to close checkpoints the write-ahead log into the file and removes it.
    assert not db_path.with_name(db_path.name + "-wal").exists()


async def test_creates_missing_parent_folder(tmp_path: Path) -> None:
    path = tmp_path / "state" / "nested" / "bot.sqlite3"
    storage = await Storage.open(path)
    await storage.close()
    assert path.is_file()


@pytest.mark.parametrize("version", [1, 2, 3])
async def test_a_file_of_the_sqlite_only_releases_is_adopted_with_its_data(db_path: Path, version: int) -> None:
    make_legacy_database(db_path, version)
    with _raw(db_path) as connection:
        connection.execute("INSERT INTO guild_config (guild_id, confidence, updated_at) VALUES (7, 'strict', 'x')")
        connection.execute("INSERT INTO enabled_channel VALUES (7, 70, 'x')")
        connection.execute("INSERT INTO vote VALUES (1000, 5, 7, 'smtp-535', 0, '2026-01-01T00:00:00+00:00')")
        connection.execute(
            "INSERT INTO miss (at, guild_id, channel_id, text, grouping_key, reason)"
            " VALUES ('2026-01-01T00:00:00+00:00', 7, 70, 'Imap broken', 'imap broken', 'no_match')"
        )
        if version >= 3:
            connection.execute(
                "INSERT INTO learned_phrasing (guild_id, entry_id, text, grouping_key, taught_by, taught_at)"
                " VALUES (7, 'imap-ports', 'imap port', 'imap port', 9, '2026-01-01T00:00:00.000000+00:00')"
            )

    upgraded = await Storage.open(db_path)
    try:
        assert upgraded.schema_version == SCHEMA_VERSION
        config = await upgraded.guild_config(7)
        assert (config.enabled_channels, config.confidence) == (frozenset({70}), "strict")
        assert await upgraded.worst_entries(7) == [EntryFeedback("smtp-535", helpful=0, not_helpful=1)]
        assert [row.text for row in await upgraded.top_misses(7)] == ["Imap broken"]
        assert [p.text for p in await upgraded.learned_phrasings(7)] == (["imap port"] if version >= 3 else [])
        # What the later revisions added is usable.
        await upgraded.update_guild_config(7, solved_tag="Solved")
        await upgraded.record_probe(
            user_id=5, guild_id=7, action="probe", target="mail.example", address=None, outcome="ok", duration_ms=3
        )
        assert [row.target for row in await upgraded.probe_history(7)] == ["mail.example"]
    finally:
        await upgraded.close()
    assert await fetch(db_path, "SELECT version_num FROM alembic_version") == [(revisions()[-1],)]
    with _raw(db_path) as connection:
        assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


async def test_a_database_at_revision_1_is_upgraded_and_keeps_its_data(database: Path | str) -> None:
    old = await Storage.open(database, version=1)
    assert old.schema_version == 1
    await old.set_channel_enabled(7, 70, True)
    await old.close()
    # Written as the version-1 code wrote it: today's code reads columns that version 1 does not have.
    await execute(
        database,
        "INSERT INTO guild_config (guild_id, confidence, moderator_role_id, updated_at)"
        " VALUES (7, 'strict', 99, '2026-01-01T00:00:00+00:00')",
    )
    assert "probe_audit" not in await _columns(database)

    upgraded = await Storage.open(database)
    try:
        assert upgraded.schema_version == SCHEMA_VERSION
        config = await upgraded.guild_config(7)
        assert config.enabled_channels == frozenset({70})
        assert (config.confidence, config.moderator_role_id, config.solved_tag) == ("strict", 99, None)
    finally:
        await upgraded.close()


async def test_reopening_an_up_to_date_database_changes_nothing(database: Path | str) -> None:
    first = await Storage.open(database)
    await first.update_guild_config(1, user_rate_limit=3)
    await first.close()
    second = await Storage.open(database)
    try:
        assert second.schema_version == SCHEMA_VERSION
        assert (await second.guild_config(1)).user_rate_limit == 3
    finally:
        await second.close()


BROKEN_REVISION = '''"""A revision that fails half-way."""
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE TABLE half_done (a INTEGER)")
    op.execute("CREATE TABLE half_done (b INTEGER)")
'''


async def test_failed_migration_is_rolled_back_whole(database: Path | str, tmp_path: Path) -> None:
    scripts = tmp_path / "history"
    (scripts / "versions").mkdir(parents=True)
    first = next((SCRIPTS / "versions").glob("0001_*.py"))
    shutil.copy(first, scripts / "versions" / first.name)
    (scripts / "versions" / "0002_broken.py").write_text(BROKEN_REVISION)
    with pytest.raises(StorageError, match="migration to schema version 2 failed"):
        await Storage.open(database, scripts=scripts)
    # Revision 1 committed on its own; the first statement of the failed one did not survive.
    assert await fetch(database, "SELECT version_num FROM alembic_version") == [("0001",)]
    tables = await _columns(database)
    assert "half_done" not in tables
    assert "guild_config" in tables


async def test_an_unknown_revision_is_refused_as_newer(database: Path | str) -> None:
    storage = await Storage.open(database)
    await storage.close()
    await execute(database, "UPDATE alembic_version SET version_num = 'f00d'")
    with pytest.raises(StorageError, match="schema version f00d is newer than this Guide Nest understands"):
        await Storage.open(database)


async def test_a_newer_user_version_is_refused(db_path: Path) -> None:
    with _raw(db_path) as connection:
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    with pytest.raises(StorageError, match="newer than this Guide Nest understands"):
        await Storage.open(db_path)


async def test_a_file_that_is_not_a_database_is_refused_clearly(db_path: Path) -> None:
    await asyncio.to_thread(db_path.write_bytes, b"this is a text file, not SQLite\n" * 200)
    with pytest.raises(StorageError, match=str(db_path.name)):
        await Storage.open(db_path)


async def test_an_unreachable_server_is_refused_clearly() -> None:
    refused = r"^postgresql://nobody:\*\*\*@127\.0\.0\.1:1/guidenest: cannot use the database"
    with pytest.raises(StorageError, match=refused):
        await Storage.open("postgresql://nobody:secret@127.0.0.1:1/guidenest")


async def test_processes_opening_a_new_database_at_once_migrate_it_once(database: Path | str) -> None:
    opened = await asyncio.gather(Storage.open(database), Storage.open(database), Storage.open(database))
    try:
        assert {storage.schema_version for storage in opened} == {SCHEMA_VERSION}
    finally:
        for storage in opened:
            await storage.close()
    assert await fetch(database, "SELECT version_num FROM alembic_version") == [(revisions()[-1],)]
