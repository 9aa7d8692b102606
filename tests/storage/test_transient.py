"""Nothing lost when the database hiccups: PostgreSQL is restarted (killed, as in a crash, then started again)
while members vote, and every vote the storage acknowledged is in the database afterwards."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

import pytest

from bot.storage import Storage
from tests.storage.conftest import fetch

if TYPE_CHECKING:
    from tests.pg import PostgresServer

VOTERS = 10


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_votes_acknowledged_across_a_server_restart_are_all_stored(
    database: str, postgres_server: PostgresServer, caplog: pytest.LogCaptureFixture
) -> None:
    storage = await Storage.open(database)
    acknowledged: set[tuple[int, int]] = set()
    after_restart: set[tuple[int, int]] = set()
    restarted = asyncio.Event()
    voting_resumed = asyncio.Event()
    stop = asyncio.Event()

    async def voter(user: int) -> None:
        message = 0
        while not stop.is_set():
            message += 1
            await storage.record_vote(
                message_id=message, user_id=user, entry_id="imap-ports", helpful=message % 2 == 0, guild_id=1
            )
            acknowledged.add((message, user))  # what the member would be told is saved
            if restarted.is_set():
                after_restart.add((message, user))
                if len(after_restart) > 2 * VOTERS:
                    voting_resumed.set()

    caplog.set_level(logging.WARNING, logger="bot.storage.store")
    voters = [asyncio.create_task(voter(user)) for user in range(VOTERS)]
    try:
        await asyncio.sleep(0.5)
        before = len(acknowledged)
        assert before > VOTERS  # votes were flowing before the restart
        await asyncio.to_thread(postgres_server.restart, "immediate")
        restarted.set()
        # Voting must go on once the server is back; how soon depends on the backoff and on a busy machine.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(voting_resumed.wait(), 30)
        stop.set()
        await asyncio.wait_for(asyncio.gather(*voters), 60)  # none of them saw an error
    finally:
        stop.set()
        for task in voters:
            task.cancel()
        await storage.close()

    assert len(after_restart) > VOTERS  # voting went on once the server was back
    # The storage noticed the restart and tried again rather than failing the votes.
    assert any("trying again" in record.getMessage() for record in caplog.records)
    stored = set(await fetch(database, "SELECT message_id, user_id FROM vote"))
    assert acknowledged <= stored
    assert len(stored) - len(acknowledged) <= VOTERS  # at most the votes in flight when voting stopped
