"""The start-up check: can the bot use this database safely?

`guidenest run` calls it before loading anything else and refuses to start on any finding; `guidenest db check`
runs it by hand. Both print the same `UnusableDatabaseError` message. A file the check refuses is left as it was:
nothing is migrated, repaired or replaced, and a read-only file is refused before SQLite opens it (opening it
would leave read-only `-wal` and `-shm` files beside it). A PostgreSQL database is checked over one connection:
reachable, a schema this version understands, writable by the bot's role.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from bot.storage import schema
from bot.storage.engine import (
    BUSY_TIMEOUT_SECONDS,
    BadDatabaseURLError,
    create_engine,
    database_url,
    describe,
    sqlite_path,
)
from bot.storage.migrations import SCHEMA_VERSION, NewerSchemaError, revisions, schema_version
from bot.storage.store import StorageError

if TYPE_CHECKING:
    from collections.abc import Coroutine
    from pathlib import Path

    from sqlalchemy.engine import URL, Connection

# quick_check rather than integrity_check: it still reads every page (damaged table pages, bad records), but
# skips the index-versus-table comparison that makes integrity_check slow on a large file.
QUICK_CHECK_PROBLEMS = 3
JOURNAL_FILES = ("-wal", "-shm", "-journal")


class UnusableDatabaseError(StorageError):
    """The bot must not start on this database; the message says which file, why, and what to do."""


class DatabaseUnreachableError(UnusableDatabaseError):
    """The database server did not answer (down, restarting, unreachable): worth trying again later, unlike a
    setting to fix, so `guidenest run` exits 1 and a service manager restarts it."""


@dataclass(frozen=True)
class DatabaseStatus:
    """What the check found in a database the bot can use."""

    path: Path | None  # None: a PostgreSQL database
    exists: bool  # False: `guidenest run` creates it
    schema_version: int  # 0 when it does not exist yet
    code_schema_version: int  # the version this code migrates to
    size_bytes: int
    journal_mode: str  # "" when it does not exist yet; the server's version on PostgreSQL
    location: str = ""  # how messages name it: the path, or the URL without its password
    backend: str = "sqlite"

    @property
    def needs_migration(self) -> bool:
        return self.schema_version < self.code_schema_version


def read_only(path: Path | str, why: str) -> UnusableDatabaseError:
    return UnusableDatabaseError(
        f"{path} is read-only ({why}), so votes, misses and probe audit rows could not be saved; make the file,"
        " its folder and any -wal or -shm file beside it writable by the user that runs the bot"
    )


def damaged(path: Path, why: str) -> UnusableDatabaseError:
    return UnusableDatabaseError(
        f"{path} is damaged (SQLite quick_check: {why}); it was left as it is: restore it from a backup, or"
        " move it away so the bot starts with an empty database"
    )


def newer_schema(path: Path | str, found: int | str, known: int) -> UnusableDatabaseError:
    return UnusableDatabaseError(
        f"{path} has schema version {found}, newer than this Guide Nest understands ({known}); upgrade Guide"
        " Nest, or use another database file"
    )


def locked(path: Path, timeout: float, why: str) -> UnusableDatabaseError:
    return UnusableDatabaseError(
        f"{path} stayed locked by another connection for {timeout:g} s ({why}); stop the other program"
        " using it (another `guidenest run`?), or wait until it finishes, then start again"
    )


def not_a_database(path: Path, why: str) -> UnusableDatabaseError:
    return UnusableDatabaseError(
        f"{path} is not a SQLite database ({why}); point the setting at the bot's database file, or move this"
        " file away so the bot starts with an empty database"
    )


def _refusal(path: Path, exc: sqlite3.Error, timeout: float) -> UnusableDatabaseError:
    """Name the kind of trouble from SQLite's primary result code (the low byte of the extended one)."""
    code = getattr(exc, "sqlite_errorcode", -1) & 0xFF
    why = str(exc)
    if code in {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED}:
        return locked(path, timeout, why)
    if code == sqlite3.SQLITE_READONLY:
        return read_only(path, why)
    if code == sqlite3.SQLITE_CORRUPT:
        return damaged(path, why)
    if code == sqlite3.SQLITE_NOTADB:
        return not_a_database(path, why)
    return UnusableDatabaseError(f"{path}: cannot use the database: {why}")


def _check_permissions(path: Path) -> None:
    """Refuse what the operating system would not let this process write, before SQLite opens anything.

    `os.access` asks with the real user's rights, so it also sees an immutable file (chattr +i) or a read-only
    mount; what it cannot see (another process's rights, network filesystems) the write probe below catches.
    """
    if not os.access(path, os.R_OK):
        raise UnusableDatabaseError(f"{path} cannot be read by the user that runs the bot (permission denied)")
    for suffix in ("", *JOURNAL_FILES):
        companion = path.with_name(path.name + suffix)
        if companion.exists() and not os.access(companion, os.W_OK):
            raise read_only(path, f"no write permission on {companion.name}")
    folder = path.parent
    if not os.access(folder, os.W_OK | os.X_OK):
        # SQLite creates its -wal/-shm (or -journal) files beside the database.
        raise read_only(path, f"no write permission on its folder {folder}")


def _nearest_existing(folder: Path) -> Path:
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def _quick_check(connection: sqlite3.Connection) -> str | None:
    """The first problem quick_check reports, or None when the file is sound."""
    rows = connection.execute(f"PRAGMA quick_check({QUICK_CHECK_PROBLEMS})").fetchall()
    lines = [line for (report,) in rows for line in str(report).splitlines()]
    if lines == ["ok"]:
        return None
    problems = [line for line in lines if line.strip() and not line.startswith("***")]
    return problems[0] if problems else "; ".join(lines) or "no result"


def _sqlite_version(connection: sqlite3.Connection, path: Path, known: int) -> int:
    """The file's schema version; a newer one is refused. Alembic's revision, when the file has one, must be ours."""
    (version,) = connection.execute("PRAGMA user_version").fetchone()
    has_revision = connection.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
    ).fetchone()
    if has_revision:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        if row is not None and row[0] not in revisions()[:known]:
            raise newer_schema(path, row[0], known)
    if version > known:
        raise newer_schema(path, version, known)
    return int(version)


def _probe_write(connection: sqlite3.Connection, version: int) -> None:
    """Take the write lock and change page 1, then roll back: what every vote, miss and audit row will need.

    `BEGIN IMMEDIATE` alone succeeds on a file SQLite opened read-only; the first real write is what fails.
    Writing the version the file already has and rolling back leaves the file as it was.
    """
    connection.execute("BEGIN IMMEDIATE")
    try:
        connection.execute(f"PRAGMA user_version = {int(version)}")
    finally:
        connection.execute("ROLLBACK")


def check_connection(
    connection: sqlite3.Connection,
    path: Path,
    *,
    timeout: float = BUSY_TIMEOUT_SECONDS,
    known: int = SCHEMA_VERSION,
) -> DatabaseStatus:
    """The checks that need SQLite: the header, the schema version, every page, and a write.

    Cheap and read-only first: a file found damaged is refused before anything tries to write to it.
    """
    try:
        version = _sqlite_version(connection, path, known)
        (journal_mode,) = connection.execute("PRAGMA journal_mode").fetchone()
        problem = _quick_check(connection)
        if problem is not None:
            raise damaged(path, problem)
        _probe_write(connection, version)
    except sqlite3.Error as exc:
        raise _refusal(path, exc, timeout) from exc
    return DatabaseStatus(
        path=path,
        exists=True,
        schema_version=int(version),
        code_schema_version=known,
        size_bytes=path.stat().st_size,
        journal_mode=str(journal_mode).lower(),
        location=str(path),
    )


def check_database(
    target: Path | str, *, timeout: float | None = None, known: int = SCHEMA_VERSION
) -> DatabaseStatus:
    """Whether the bot can use the database at `target` (a path or a URL); raises UnusableDatabaseError saying why
    not.

    A file that does not exist yet is fine when its folder can be created or written. `timeout` is how long to
    wait for another connection's write lock (the store's own busy timeout unless a test wants it shorter).
    """
    try:
        url = database_url(target)
    except BadDatabaseURLError as exc:
        raise UnusableDatabaseError(str(exc)) from exc
    wait = BUSY_TIMEOUT_SECONDS if timeout is None else timeout
    sqlite_file = sqlite_path(url)
    if sqlite_file is None:
        return _run_to_end(_check_server(url, wait, known))
    path = sqlite_file.absolute()
    if path.is_dir():
        raise UnusableDatabaseError(f"{path} is a folder, not a database file")
    if not path.exists():
        folder = _nearest_existing(path.parent)
        if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
            raise UnusableDatabaseError(f"{path} does not exist, and it cannot be created: {folder} is not writable")
        return DatabaseStatus(path, False, 0, known, 0, "", location=str(path))
    _check_permissions(path)
    try:
        # mode=rw: never create a file here (it may have been moved away since the check above).
        connection = sqlite3.connect(f"{path.as_uri()}?mode=rw", uri=True, timeout=wait, isolation_level=None)
    except sqlite3.Error as exc:
        raise _refusal(path, exc, wait) from exc
    try:
        return check_connection(connection, path, timeout=wait, known=known)
    finally:
        connection.close()


def _run_to_end(check: Coroutine[None, None, DatabaseStatus]) -> DatabaseStatus:
    """The check is synchronous, as the SQLite one is; called from a running loop, it runs on a thread of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(check)
    with ThreadPoolExecutor(1, thread_name_prefix="guidenest-db-check") as pool:
        return pool.submit(asyncio.run, check).result()


def _server_findings(connection: Connection, where: str, known: int) -> tuple[int, str, int]:
    """Schema version, server version and size; refuses a newer schema, a read-only server or missing rights."""
    try:
        version = schema_version(connection)
    except NewerSchemaError as exc:
        raise newer_schema(where, exc.found, min(exc.known, known)) from exc
    if version > known:
        raise newer_schema(where, version, known)
    if connection.exec_driver_sql("SHOW transaction_read_only").scalar_one() == "on":
        raise read_only(where, "the server accepts only reads: a standby, or default_transaction_read_only")
    # Migrating creates tables in the current schema.
    may_create = "SELECT has_schema_privilege(current_schema(), 'CREATE')"
    if version < known and not connection.execute(text(may_create)).scalar_one():
        raise read_only(where, "this role may not create tables in its schema, so it cannot be migrated")
    for table in schema.TABLES if version == known else ():
        # Listing several privileges in one call asks for any of them; every one is needed.
        allowed = connection.execute(
            text(
                "SELECT has_table_privilege(:t, 'SELECT') AND has_table_privilege(:t, 'INSERT')"
                " AND has_table_privilege(:t, 'UPDATE') AND has_table_privilege(:t, 'DELETE')"
            ),
            {"t": table.name},
        ).scalar_one()
        if not allowed:
            raise read_only(where, f"this role may not write the {table.name} table")
    server = str(connection.exec_driver_sql("SHOW server_version").scalar_one())
    size = int(connection.execute(text("SELECT pg_database_size(current_database())")).scalar_one())
    return version, server, size


async def _check_server(url: URL, wait: float, known: int) -> DatabaseStatus:
    where = describe(url)
    engine = create_engine(url)
    try:
        async with asyncio.timeout(wait), engine.connect() as connection:
            version, server, size = await connection.run_sync(_server_findings, where, known)
            await connection.rollback()  # only read; nothing to keep
    except TimeoutError as exc:
        raise DatabaseUnreachableError(
            f"{where} did not answer within {wait:g} s; check that the server is running and reachable"
        ) from exc
    except (DBAPIError, OSError) as exc:
        why = exc.orig if isinstance(exc, DBAPIError) else exc
        # Refused or reset connections are the server's absence; a refused login or database is a setting.
        error = DatabaseUnreachableError if isinstance(why, OSError) else UnusableDatabaseError
        raise error(
            f"{where}: cannot use the database ({why}); check the URL, that the server is running and that it"
            " lets this user in"
        ) from exc
    finally:
        await engine.dispose()
    server_name = f"PostgreSQL {server}"
    return DatabaseStatus(None, True, version, known, size, server_name, location=where, backend="postgresql")
