"""A server's settings changed by another process reach this bot over Redis: its cached copy is dropped at once,
so the next message is decided with the new settings (here: passive answers switched on in the help channel)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from bot.coordination.broadcast import Broadcast
from bot.coordination.events import GUILD_CONFIG_CHANGED
from bot.coordination.link import RedisLink
from bot.metrics import Metrics
from bot.storage import Storage

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

QUESTION = "what port does imap use"


@pytest.fixture
def settings_overrides(redis_url: str) -> dict[str, Any]:
    return {"redis_url": redis_url}


@pytest.fixture
async def other_process(redis_url: str) -> AsyncIterator[Broadcast]:
    """What another process of the bot would publish with: its own link and origin."""
    link = RedisLink.from_url(redis_url, Metrics())

    async def ignore(event: object) -> None:
        del event

    try:
        yield Broadcast(link, ignore)
    finally:
        await link.close()


async def test_a_settings_change_in_another_process_reaches_this_one(e2e, e2e_settings, other_process) -> None:
    world = e2e.world
    broadcast = e2e.bot.coordination.broadcast
    assert broadcast is not None
    await broadcast.wait_subscribed()
    # Not enabled yet: a plain question in the help channel is left alone, and the settings are now cached.
    mark = e2e.emulator.created_messages.mark()
    await e2e.send_message(QUESTION, channel=world.help)
    await e2e.expect_no_bot_message(since=mark)

    # Another process (another machine) enables the channel in the shared database and says so.
    storage = await Storage.open(e2e_settings.database_target)
    try:
        await storage.set_channel_enabled(world.guild.id, world.help.id, True)
    finally:
        await storage.close()
    changed = e2e.bot.wait_for("guild_config_changed", timeout=5)
    await other_process.publish(GUILD_CONFIG_CHANGED, guild_id=world.guild.id)
    assert await changed == world.guild.id

    answer = await e2e.wait_for_reply(await e2e.send_message(QUESTION, channel=world.help))
    assert "993" in answer.text
