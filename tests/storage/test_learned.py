"""Learned phrasings on a real SQLite file and a real PostgreSQL: taught per guild, moved by re-teaching, listed,
forgotten."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from bot.storage import LearnedPhrasing, Storage
from tests.storage.conftest import fetch

if TYPE_CHECKING:
    from pathlib import Path

    from tests.storage.conftest import FakeClock

GUILD, OTHER_GUILD = 1, 2
MODERATOR, OTHER_MODERATOR = 100, 200


async def test_a_phrasing_is_stored_with_who_taught_it_and_when(storage: Storage, clock: FakeClock) -> None:
    taught = await storage.learn_phrasing(GUILD, "imap-ports", "which port is imap again", MODERATOR)
    assert taught == LearnedPhrasing(
        id=taught.id,
        guild_id=GUILD,
        entry_id="imap-ports",
        text="which port is imap again",
        taught_by=MODERATOR,
        taught_at=clock.now,
    )
    assert await storage.learned_phrasings(GUILD) == [taught]
    assert await storage.learned_phrasings(OTHER_GUILD) == []


async def test_teaching_the_same_text_again_moves_it_to_the_new_entry(storage: Storage, clock: FakeClock) -> None:
    first = await storage.learn_phrasing(GUILD, "imap-ports", "Which port is IMAP?", MODERATOR)
    clock.advance(minutes=5)
    # Case, spacing and punctuation aside it is the same question: one row, now pointing elsewhere.
    moved = await storage.learn_phrasing(GUILD, "pop3-ports", "which  port is imap", OTHER_MODERATOR)
    assert moved.id == first.id
    assert await storage.learned_phrasings(GUILD) == [moved]
    assert (moved.entry_id, moved.text, moved.taught_by, moved.taught_at) == (
        "pop3-ports",
        "which  port is imap",
        OTHER_MODERATOR,
        clock.now,
    )
    # Another guild's teaching is its own.
    elsewhere = await storage.learn_phrasing(OTHER_GUILD, "imap-ports", "Which port is IMAP?", MODERATOR)
    assert elsewhere.id != first.id
    assert [p.entry_id for p in await storage.learned_phrasings(GUILD)] == ["pop3-ports"]


async def test_listing_is_latest_first_and_none_lists_every_guild(storage: Storage, clock: FakeClock) -> None:
    older = await storage.learn_phrasing(GUILD, "imap-ports", "imap port please", MODERATOR)
    clock.advance(seconds=1)
    other = await storage.learn_phrasing(OTHER_GUILD, "pop3-ports", "pop port please", MODERATOR)
    clock.advance(seconds=1)
    newer = await storage.learn_phrasing(GUILD, "smtp-ports", "smtp port please", MODERATOR)
    assert await storage.learned_phrasings(GUILD) == [newer, older]
    assert await storage.learned_phrasings(None) == [newer, other, older]
    assert await storage.taught_guilds() == {GUILD, OTHER_GUILD}


async def test_forgetting_removes_only_that_guilds_phrasing(storage: Storage) -> None:
    kept = await storage.learn_phrasing(GUILD, "imap-ports", "imap port please", MODERATOR)
    gone = await storage.learn_phrasing(GUILD, "smtp-ports", "smtp port please", MODERATOR)
    # Another guild cannot remove it by its id (a forged menu value, say).
    assert await storage.forget_phrasing(OTHER_GUILD, gone.id) is None
    assert await storage.forget_phrasing(GUILD, gone.id) == gone
    assert await storage.forget_phrasing(GUILD, gone.id) is None  # twice: nothing left to remove
    assert await storage.learned_phrasings(GUILD) == [kept]
    await storage.forget_phrasing(GUILD, kept.id)
    assert await storage.taught_guilds() == set()


@pytest.mark.parametrize(("entry_id", "text"), [("imap-ports", ""), ("imap-ports", " \u200b "), ("", "imap port")])
async def test_a_phrasing_without_text_or_entry_is_refused(storage: Storage, entry_id: str, text: str) -> None:
    with pytest.raises(ValueError, match="needs text and an entry"):
        await storage.learn_phrasing(GUILD, entry_id, text, MODERATOR)
    assert await storage.learned_phrasings(None) == []


async def test_phrasings_survive_a_reopen_and_are_committed(database: Path | str, clock: FakeClock) -> None:
    storage = await Storage.open(database, clock=clock)
    taught = await storage.learn_phrasing(GUILD, "imap-ports", "imap port please", MODERATOR)
    # Read by another connection while the first is still open: the row was committed, not only queued.
    assert await fetch(database, "SELECT entry_id, taught_by FROM learned_phrasing") == [("imap-ports", MODERATOR)]
    await storage.close()
    reopened = await Storage.open(database, clock=clock)
    try:
        assert await reopened.learned_phrasings(GUILD) == [taught]
    finally:
        await reopened.close()


async def test_a_miss_is_read_back_by_its_id_only_in_its_guild(storage: Storage) -> None:
    for text in ("imap is broken", "Imap is broken!"):
        await storage.record_miss(
            guild_id=GUILD, channel_id=10, text=text, reason="no_match", entry_id=None, score=None
        )
    (row,) = await storage.top_misses(GUILD)
    assert row.count == 2
    assert row.latest_id is not None
    assert await storage.missed_question(GUILD, row.latest_id) == "Imap is broken!"  # the latest of the group
    assert await storage.missed_question(OTHER_GUILD, row.latest_id) is None
    assert await storage.missed_question(GUILD, row.latest_id + 100) is None
