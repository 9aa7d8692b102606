from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import text

from bot.storage import Storage
from bot.storage.engine import create_engine, database_url

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

BACKENDS = ("sqlite", "postgresql")


class FakeClock:
    """A clock the test moves by hand, so retention and ordering do not depend on the wall clock."""

    def __init__(self) -> None:
        self.now = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "guidenest.sqlite3"


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database(backend: str, db_path: Path, request: pytest.FixtureRequest) -> Path | str:
    """Where the test's database lives: a new SQLite file, or a new database on the session's PostgreSQL."""
    if backend == "sqlite":
        return db_path
    return str(request.getfixturevalue("postgres_server").create_database())


@pytest.fixture
async def storage(database: Path | str, clock: FakeClock) -> AsyncIterator[Storage]:
    opened = await Storage.open(database, clock=clock)
    yield opened
    await opened.close()


async def fetch(database: Path | str, sql: str, **parameters: Any) -> list[tuple[Any, ...]]:
    """Rows read on a connection of its own: what another process would see (committed rows only)."""
    engine = create_engine(database_url(database))
    try:
        async with engine.connect() as connection:
            result = await connection.execute(text(sql), parameters)
            return [tuple(row) for row in result]
    finally:
        await engine.dispose()


async def execute(database: Path | str, sql: str) -> None:
    """One statement, committed, on a connection of its own."""
    engine = create_engine(database_url(database))
    try:
        async with engine.begin() as connection:
            await connection.execute(text(sql))
    finally:
        await engine.dispose()
