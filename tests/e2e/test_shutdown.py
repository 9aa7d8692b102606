"""Closing the bot lets the handlers already running finish before the database closes: an answer posted just
before a shutdown still records its row, and nothing fails on a closed database."""

from __future__ import annotations

import asyncio

from bot.storage import Storage


async def test_an_answer_recorded_during_shutdown_is_kept(e2e, e2e_settings, monkeypatch) -> None:
    storage = e2e.bot.storage
    record_answer = storage.record_answer
    recording = asyncio.Event()
    release = asyncio.Event()

    async def slow_record_answer(**row: object) -> None:
        # The answer is posted; its row is written only once the shutdown has begun.
        recording.set()
        await release.wait()
        await record_answer(**row)

    monkeypatch.setattr(storage, "record_answer", slow_record_answer)
    answer = await e2e.wait_for_reply(await e2e.send_message("what port does imap use", mention_bot=True))
    await asyncio.wait_for(recording.wait(), 5)
    closing = asyncio.create_task(e2e.bot.close())
    await asyncio.sleep(0.2)
    assert not closing.done()  # waiting for the handler, not closing the database under it
    assert not storage.closed
    release.set()
    await asyncio.wait_for(closing, 15)
    assert storage.closed

    reopened = await Storage.open(e2e_settings.database_target)
    try:
        record = await reopened.answer(answer.id)
    finally:
        await reopened.close()
    assert record is not None
    assert record.entry_id == "imap-ports"
