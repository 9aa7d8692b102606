"""The start-up database check, on real SQLite files: what it accepts, what it refuses, and that it changes nothing.

Refusals seen from `guidenest run` and `guidenest db check` (same words, exit 2) are in tests/cli/.
"""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing
from typing import TYPE_CHECKING

import pytest

from bot.storage import Storage, StorageError, UnusableDatabaseError, check_database
from bot.storage.check import check_connection
from bot.storage.migrations import SCHEMA_VERSION
from tests.storage.conftest import execute
from tests.storage.faults import (
    companions,
    damage_table_pages,
    digest,
    file_size,
    make_database,
    newer_schema_version,
    set_schema_version,
    write_lock_held,
)

if TYPE_CHECKING:
    from pathlib import Path


def test_a_missing_file_is_fine_and_is_not_created(db_path: Path) -> None:
    status = check_database(db_path)
    assert not status.exists
    assert status.needs_migration
    assert not db_path.exists()


async def test_the_bots_own_database_passes(db_path: Path) -> None:
    await make_database(db_path)
    before = digest(db_path)
    status = check_database(db_path)
    assert status.exists
    assert status.schema_version == status.code_schema_version == SCHEMA_VERSION
    assert not status.needs_migration
    assert status.journal_mode == "wal"
    assert status.size_bytes == file_size(db_path)
    # The write probe was rolled back, and the check's connection closed behind itself.
    assert digest(db_path) == before
    assert companions(db_path) == []


async def test_an_older_schema_passes_and_is_left_for_run_to_migrate(db_path: Path) -> None:
    old = await Storage.open(db_path, version=1)
    await old.close()
    status = check_database(db_path)
    assert status.schema_version == 1
    assert status.needs_migration
    with closing(sqlite3.connect(db_path)) as connection:
        assert connection.execute("PRAGMA user_version").fetchone()[0] == 1


async def test_corrupted_table_pages_are_refused_and_the_file_is_left_as_it_was(db_path: Path) -> None:
    await make_database(db_path)
    damage_table_pages(db_path)
    # What the check guards against: the file opens and migrates as if nothing were wrong.
    opened = await Storage.open(db_path)
    await opened.close()
    before = digest(db_path)

    with pytest.raises(UnusableDatabaseError) as refused:
        check_database(db_path)
    message = str(refused.value)
    assert message.startswith(f"{db_path} is damaged (SQLite quick_check: ")
    assert "restore it from a backup" in message
    assert digest(db_path) == before
    assert companions(db_path) == []


def test_a_file_that_is_not_sqlite_is_refused(db_path: Path) -> None:
    db_path.write_bytes(b"not a database at all\n" * 200)
    with pytest.raises(UnusableDatabaseError, match="is not a SQLite database \\(file is not a database\\)"):
        check_database(db_path)
    assert db_path.read_bytes() == b"not a database at all\n" * 200


async def test_a_newer_schema_is_refused_before_anything_else(db_path: Path) -> None:
    await make_database(db_path)
    set_schema_version(db_path, newer_schema_version())
    before = digest(db_path)
    with pytest.raises(UnusableDatabaseError) as refused:
        check_database(db_path)
    assert str(refused.value) == (
        f"{db_path} has schema version {newer_schema_version()}, newer than this Guide Nest understands"
        f" ({SCHEMA_VERSION}); upgrade Guide Nest, or use another database file"
    )
    assert digest(db_path) == before


async def test_a_write_lock_held_past_the_timeout_is_refused(db_path: Path) -> None:
    await make_database(db_path)
    with write_lock_held(db_path):
        started = time.monotonic()
        with pytest.raises(UnusableDatabaseError) as refused:
            check_database(db_path, timeout=0.3)
        waited = time.monotonic() - started
    assert waited >= 0.25  # it waited for the lock, as the store's writes would, before refusing
    assert str(refused.value).startswith(
        f"{db_path} stayed locked by another connection for 0.3 s (database is locked); stop the other program"
    )
    # Released in time: the same file passes.
    assert check_database(db_path, timeout=0.3).exists


async def test_a_file_sqlite_can_only_read_is_refused_by_the_write_probe(db_path: Path) -> None:
    """Read-only as SQLite sees it (mode=ro), whatever the permission bits say: the case `os.access` misses."""
    await make_database(db_path)
    before = digest(db_path)
    connection = sqlite3.connect(f"{db_path.as_uri()}?mode=ro", uri=True, isolation_level=None)
    with closing(connection), pytest.raises(UnusableDatabaseError) as refused:
        check_connection(connection, db_path)
    assert str(refused.value).startswith(
        f"{db_path} is read-only (attempt to write a readonly database), so votes, misses and probe audit rows"
        " could not be saved"
    )
    assert digest(db_path) == before


def test_a_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UnusableDatabaseError, match="is a folder, not a database file"):
        check_database(tmp_path)


def test_refusals_are_storage_errors() -> None:
    # `guidenest run` reports every StorageError the same way (exit 2); the check's refusals are among them.
    assert issubclass(UnusableDatabaseError, StorageError)


# --- PostgreSQL ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_a_postgresql_database_is_checked_and_left_as_it_was(database: str) -> None:
    empty = check_database(database)
    assert (empty.exists, empty.schema_version, empty.backend, empty.path) == (True, 0, "postgresql", None)
    assert empty.needs_migration
    storage = await Storage.open(database, version=1)
    await storage.close()
    status = check_database(database)
    assert (status.schema_version, status.needs_migration) == (1, True)
    assert status.journal_mode.startswith("PostgreSQL 15")
    assert status.location == database


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_a_newer_postgresql_schema_is_refused(database: str) -> None:
    storage = await Storage.open(database)
    await storage.close()
    await execute(database, "UPDATE alembic_version SET version_num = 'f00d'")
    with pytest.raises(UnusableDatabaseError, match="has schema version f00d, newer than this Guide Nest understands"):
        check_database(database)


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_a_postgresql_role_that_may_not_write_is_refused(database: str) -> None:
    storage = await Storage.open(database)
    await storage.close()
    await execute(database, "DROP ROLE IF EXISTS reader")
    await execute(database, "CREATE ROLE reader LOGIN")
    await execute(database, "GRANT SELECT ON ALL TABLES IN SCHEMA public TO reader")
    as_reader = database.replace("postgres@", "reader@")
    refused = r"is read-only \(this role may not write the guild_config table\)"
    with pytest.raises(UnusableDatabaseError, match=refused):
        check_database(as_reader)


def test_an_unreachable_server_is_refused() -> None:
    with pytest.raises(UnusableDatabaseError, match=r"cannot use the database .*; check the URL"):
        check_database("postgresql://bot:secret@127.0.0.1:1/guidenest", timeout=5)
