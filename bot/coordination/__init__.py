"""What the bot's processes share through Redis: the answer limits, the probe guard's counts, and the broadcast
of changes (`/kb reload`, `/config`). Without GUIDENEST_REDIS_URL each process keeps its own, as one process
needs, and Redis is never imported.

    shared = await open_coordination(settings, metrics, on_event)   # on_event: bot.coordination.broadcast.Event
    Conversation(..., throttle=shared.throttle); shared.probe_guard.admit(...); await shared.announce_reload()
    await shared.close()
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.conversation import Throttle
from bot.coordination.events import GUILD_CONFIG_CHANGED
from bot.probe.guard import ProbeGuard

if TYPE_CHECKING:
    from bot.conversation import AnswerLimits
    from bot.coordination.broadcast import Broadcast
    from bot.coordination.events import Handler
    from bot.coordination.link import RedisLink
    from bot.metrics import Metrics
    from bot.probe.guard import ProbeLimits
    from bot.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Coordination:
    throttle: AnswerLimits
    probe_guard: ProbeLimits
    # Both None without Redis.
    link: RedisLink | None = None
    broadcast: Broadcast | None = None
    # The knowledge generation this process answers from (see bot.coordination.broadcast).
    generation: int | None = None

    @property
    def shared(self) -> bool:
        return self.link is not None

    async def announce_reload(self) -> None:
        """This process reloaded its knowledge: have every other process reload too."""
        if self.broadcast is not None:
            self.generation = await self.broadcast.knowledge_reloaded()

    async def announce_guild_config(self, guild_id: int) -> None:
        if self.broadcast is not None:
            await self.broadcast.publish(GUILD_CONFIG_CHANGED, guild_id=guild_id)

    async def close(self) -> None:
        if self.broadcast is not None:
            await self.broadcast.close()
        if self.link is not None:
            await self.link.close()


async def open_coordination(settings: Settings, metrics: Metrics, on_event: Handler) -> Coordination:
    """Counts in this process, or in Redis when GUIDENEST_REDIS_URL is set. An unreachable Redis at start is
    an outage like any other (a warning, probes refused, local answer limits) and is retried."""
    if settings.redis_url is None:
        return Coordination(throttle=Throttle(), probe_guard=ProbeGuard(settings))
    from bot.coordination.answers import RedisThrottle
    from bot.coordination.broadcast import Broadcast
    from bot.coordination.link import RedisLink, RedisUnavailableError
    from bot.coordination.probes import SharedProbeGuard

    link = RedisLink.from_url(settings.redis_url.get_secret_value(), metrics)
    broadcast = Broadcast(link, on_event)
    try:
        await link.ping()
    except RedisUnavailableError:
        pass  # logged by the link, which keeps retrying
    else:
        log.info("limits and broadcasts shared through Redis")
    coordination = Coordination(
        throttle=RedisThrottle(link),
        probe_guard=SharedProbeGuard(settings, link),
        link=link,
        broadcast=broadcast,
        generation=await broadcast.generation(),
    )
    broadcast.start()
    return coordination
