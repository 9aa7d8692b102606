"""Without GUIDENEST_REDIS_URL the bot keeps its limits in the process and never loads Redis."""

from __future__ import annotations

import subprocess
import sys
from typing import TYPE_CHECKING

from bot.conversation import Throttle
from bot.coordination import open_coordination
from bot.metrics import Metrics
from bot.probe.guard import ProbeGuard
from bot.settings import Settings

if TYPE_CHECKING:
    from bot.coordination.events import Event


async def test_without_redis_the_limits_are_this_processs_own() -> None:
    async def ignore(event: Event) -> None:
        del event

    shared = await open_coordination(Settings(_env_file=None, redis_url=None), Metrics(), ignore)  # type: ignore[call-arg]
    try:
        assert isinstance(shared.throttle, Throttle)
        assert isinstance(shared.probe_guard, ProbeGuard)
        assert (shared.link, shared.broadcast, shared.shared) == (None, None, False)
        await shared.announce_reload()  # nobody to tell: nothing happens, nothing fails
        await shared.announce_guild_config(5)
    finally:
        await shared.close()


def test_the_app_loads_no_redis_code_until_a_redis_url_is_set() -> None:
    code = "import sys, bot.app; print('redis' in sys.modules)"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "False"
