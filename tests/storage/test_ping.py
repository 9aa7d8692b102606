"""`Storage.ping`, the health endpoint's database check, on a real SQLite file and a real PostgreSQL."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import pytest
from sqlalchemy.engine import make_url

from bot.storage import Storage, StorageError
from bot.storage.store import RETRY_SECONDS

if TYPE_CHECKING:
    from pathlib import Path

    from tests.pg import PostgresServer


async def test_ping_waits_no_longer_than_told_for_a_connection_held_elsewhere(storage: Storage) -> None:
    await storage.ping()
    # The store's one connection, busy in a long transaction: the ping cannot get its turn in time.
    async with storage.engine.connect() as held:
        await held.exec_driver_sql("SELECT 1")
        started = time.monotonic()
        with pytest.raises(StorageError, match=r"no answer within 0\.2 s"):
            await storage.ping(within_seconds=0.2)
        assert time.monotonic() - started < 2
    await storage.ping()  # the connection is back, and was not harmed by the ping given up on
    assert await storage.taught_guilds() == set()


async def test_ping_of_a_closed_storage_fails(database: Path | str) -> None:
    storage = await Storage.open(database)
    await storage.close()
    with pytest.raises(StorageError, match="the database is closed"):
        await storage.ping()


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_ping_reports_a_server_refusing_connections_at_once_then_recovers(
    storage: Storage, database: str, postgres_server: PostgresServer
) -> None:
    name = make_url(database).database
    await storage.ping()
    # The database stops taking connections and the store's own is ended, as when the server goes away.
    postgres_server.psql(
        f"ALTER DATABASE {name} ALLOW_CONNECTIONS false;"
        f" SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
    )
    try:
        started = time.monotonic()
        with pytest.raises(StorageError, match="is not currently accepting connections"):
            await storage.ping()
        assert time.monotonic() - started < RETRY_SECONDS / 10  # told now, not after the writes' retries
    finally:
        postgres_server.psql(f"ALTER DATABASE {name} ALLOW_CONNECTIONS true")
    await asyncio.wait_for(storage.ping(), 5)
