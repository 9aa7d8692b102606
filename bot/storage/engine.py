"""Where the database is: a SQLite file or a PostgreSQL server, named by a URL, and the engine that reaches it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

BUSY_TIMEOUT_SECONDS = 10.0  # SQLite: how long a write waits for another connection's write lock
CONNECT_TIMEOUT_SECONDS = 10.0  # PostgreSQL: how long opening a connection may take
LOCK_TIMEOUT: Final = "10s"  # PostgreSQL: how long a statement waits for a row or table lock
BEGIN_OPTION: Final = "guidenest_begin"  # execution option: the statement that opens a SQLite transaction

SQLITE, POSTGRESQL = "sqlite", "postgresql"


class BadDatabaseURLError(ValueError):
    """Not a database URL this code can use; the message says what is accepted."""


def database_url(target: Path | str | URL) -> URL:
    """The async engine URL for a path or a URL: `sqlite:///path`, `postgresql://user@host/db` (any driver
    suffix is replaced by aiosqlite and asyncpg)."""
    if isinstance(target, Path) or (isinstance(target, str) and "://" not in target):
        return URL.create("sqlite+aiosqlite", database=str(Path(target)))
    try:
        url = make_url(target)
    except ArgumentError as exc:
        raise BadDatabaseURLError(f"not a database URL: {exc}") from exc
    backend = url.get_backend_name()
    if backend == SQLITE:
        if not url.database or url.database == ":memory:":
            raise BadDatabaseURLError("a sqlite:/// URL needs a file path, e.g. sqlite:////var/lib/guidenest/db.sqlite3")
        return url.set(drivername="sqlite+aiosqlite")
    if backend in {POSTGRESQL, "postgres"}:
        if not url.database:
            raise BadDatabaseURLError("a postgresql:// URL needs a database name, e.g. postgresql://bot@db/guidenest")
        return url.set(drivername="postgresql+asyncpg")
    raise BadDatabaseURLError(f"unsupported database {backend!r}: use sqlite:///PATH or postgresql://…")


def sqlite_path(url: URL) -> Path | None:
    return Path(url.database) if url.get_backend_name() == SQLITE and url.database else None


def describe(url: URL) -> str:
    """How messages name the database: a SQLite file by its path, a server by its URL without the password."""
    path = sqlite_path(url)
    if path is not None:
        return str(path)
    return url.set(drivername=url.get_backend_name()).render_as_string(hide_password=True)


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # We open transactions ourselves (below), so the driver must not; then BEGIN IMMEDIATE is possible and DDL
    # is transactional, which migrations rely on.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA synchronous = NORMAL")  # safe with WAL; fsync at checkpoints
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    # A write takes the write lock up front: a deferred transaction that reads and then writes can fail at once
    # with "database is locked" instead of waiting, when another writer committed in between.
    connection.exec_driver_sql(str(connection.get_execution_options().get(BEGIN_OPTION, "BEGIN")))


def create_engine(url: URL) -> AsyncEngine:
    """One pooled connection: the store serialises its work itself (see Storage._lock)."""
    if url.get_backend_name() == SQLITE:
        engine = create_async_engine(
            url, pool_size=1, max_overflow=0, connect_args={"timeout": BUSY_TIMEOUT_SECONDS}
        )
        event.listen(engine.sync_engine, "connect", _sqlite_connect)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    return create_async_engine(
        url,
        pool_size=1,
        max_overflow=0,
        pool_pre_ping=True,  # a connection from before a server restart is noticed and replaced before use
        connect_args={
            "timeout": CONNECT_TIMEOUT_SECONDS,
            "server_settings": {"lock_timeout": LOCK_TIMEOUT, "application_name": "guidenest"},
        },
    )


def write_engine(engine: AsyncEngine) -> AsyncEngine:
    """The same pool, with SQLite transactions that take the write lock when they begin."""
    return engine.execution_options(**{BEGIN_OPTION: "BEGIN IMMEDIATE"})
