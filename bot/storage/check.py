"""The start-up check: can the bot use this database file safely?

`guidenest run` calls it before loading anything else and refuses to start on any finding; `guidenest db check`
runs it by hand. Both print the same `UnusableDatabaseError` message. A file the check refuses is left as it was:
nothing is migrated, repaired or replaced, and a read-only file is refused before SQLite opens it (opening it
would leave read-only `-wal` and `-shm` files beside it).
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bot.storage.migrations import MIGRATIONS
from bot.storage.store import BUSY_TIMEOUT_SECONDS, StorageError

if TYPE_CHECKING:
    from collections.abc import Sequence

# quick_check rather than integrity_check: it still reads every page (damaged table pages, bad records), but
# skips the index-versus-table comparison that makes integrity_check slow on a large file.
QUICK_CHECK_PROBLEMS = 3
JOURNAL_FILES = ("-wal", "-shm", "-journal")


class UnusableDatabaseError(StorageError):
    """The bot must not start on this database; the message says which file, why, and what to do."""


@dataclass(frozen=True)
class DatabaseStatus:
    """What the check found in a database the bot can use."""

    path: Path
    exists: bool  # False: `guidenest run` creates it
    schema_version: int  # 0 when it does not exist yet
    code_schema_version: int  # the version this code migrates to
    size_bytes: int
    journal_mode: str  # "" when it does not exist yet

    @property
    def needs_migration(self) -> bool:
        return self.schema_version < self.code_schema_version


def read_only(path: Path, why: str) -> UnusableDatabaseError:
    return UnusableDatabaseError(
        f"{path} is read-only ({why}), so votes, misses and probe audit rows could not be saved; make the file,"
        " its folder and any -wal or -shm file beside it writable by the user that runs the bot"
    )


def damaged(path: Path, why: str) -> UnusableDatabaseError:
    return UnusableDatabaseError(
        f"{path} is damaged (SQLite quick_check: {why}); it was left as it is: restore it from a backup, or"
        " move it away so the bot starts with an empty database"
    )


def newer_schema(path: Path, found: int, known: int) -> UnusableDatabaseError:
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
    migrations: Sequence[str] = MIGRATIONS,
) -> DatabaseStatus:
    """The checks that need SQLite: the header, the schema version, every page, and a write.

    Cheap and read-only first: a file found damaged is refused before anything tries to write to it.
    """
    known = len(migrations)
    try:
        (version,) = connection.execute("PRAGMA user_version").fetchone()
        if version > known:
            raise newer_schema(path, version, known)
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
    )


def check_database(
    path: Path, *, timeout: float | None = None, migrations: Sequence[str] = MIGRATIONS
) -> DatabaseStatus:
    """Whether the bot can use the database at `path`; raises UnusableDatabaseError saying why not.

    A file that does not exist yet is fine when its folder can be created or written. `timeout` is how long to
    wait for another connection's write lock (the store's own busy timeout unless a test wants it shorter).
    """
    path = Path(path).absolute()
    wait = BUSY_TIMEOUT_SECONDS if timeout is None else timeout
    known = len(migrations)
    if path.is_dir():
        raise UnusableDatabaseError(f"{path} is a folder, not a database file")
    if not path.exists():
        folder = _nearest_existing(path.parent)
        if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
            raise UnusableDatabaseError(f"{path} does not exist, and it cannot be created: {folder} is not writable")
        return DatabaseStatus(path, False, 0, known, 0, "")
    _check_permissions(path)
    try:
        # mode=rw: never create a file here (it may have been moved away since the check above).
        connection = sqlite3.connect(f"{path.as_uri()}?mode=rw", uri=True, timeout=wait, isolation_level=None)
    except sqlite3.Error as exc:
        raise _refusal(path, exc, wait) from exc
    try:
        return check_connection(connection, path, timeout=wait, migrations=migrations)
    finally:
        connection.close()
