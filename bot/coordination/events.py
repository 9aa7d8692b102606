"""What the processes of the bot tell each other (bot.coordination.broadcast sends and receives it over Redis).

Apart from Redis, so that the app can name the events without importing Redis when none is configured.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

KNOWLEDGE_RELOADED = "knowledge_reloaded"
GUILD_CONFIG_CHANGED = "guild_config_changed"
# Not sent: what the listener hands on after (re)subscribing, when messages may have been missed.
RESYNC = "resync"
EVENTS = frozenset({KNOWLEDGE_RELOADED, GUILD_CONFIG_CHANGED})


@dataclass(frozen=True, slots=True)
class Event:
    kind: str
    guild_id: int | None = None
    # The knowledge generation: with KNOWLEDGE_RELOADED the one the reload created, with RESYNC Redis' current.
    generation: int | None = None


Handler = Callable[[Event], Awaitable[None]]
