"""The probe guard's rules with their counts in a real Redis: they hold across processes, a dead process's
slot comes back, and an outage refuses probes instead of running them unguarded."""

from __future__ import annotations

import asyncio
import signal
import sys
import textwrap
from typing import TYPE_CHECKING

import pytest

from bot.coordination.probes import LEASES, REDIS_DOWN, SharedProbeGuard
from bot.probe.errors import ProbeRefused
from tests.e2e.guidenest_process import REPO_ROOT
from tests.probe.test_guard import settings  # the same limits as the local guard's tests

if TYPE_CHECKING:
    from collections.abc import Callable

    from bot.coordination.link import RedisLink
    from tests.redis_server import RedisServer



async def admit_once(guard: SharedProbeGuard, user: str, guild: str | None, target: str) -> None:
    async with guard.admit(user, guild, target):
        pass


async def test_user_guild_and_target_limits_hold_across_processes(
    redis_url: str, links: Callable[..., RedisLink]
) -> None:
    one, two = SharedProbeGuard(settings(), links(redis_url)), SharedProbeGuard(settings(), links(redis_url))
    await admit_once(one, "alice", "g1", "a.example")
    with pytest.raises(ProbeRefused, match=r"one probe every 30 s; try again in (29|30) s"):
        await admit_once(two, "alice", "g2", "b.example")  # the same user on another shard
    await admit_once(two, "bob", "g1", "a.example")
    with pytest.raises(ProbeRefused, match=r"^a\.example has been probed 2 times in the last hour"):
        await one.check("carol", "g3", "a.example")  # the per-target cap counts both processes
    await admit_once(one, "carol", "g1", "c.example")
    with pytest.raises(ProbeRefused, match=r"This server has used its 3 probes for the hour; .* in 1 h"):
        await admit_once(two, "dave", "g1", "d.example")
    await admit_once(two, "dave", "g2", "d.example")  # another guild has its own budget


async def test_a_check_counts_nothing(redis_url: str, links: Callable[..., RedisLink]) -> None:
    guard = SharedProbeGuard(settings(probe_target_hourly_cap=1), links(redis_url))
    for _ in range(3):
        await guard.check("alice", "g1", "a.example")
    await admit_once(guard, "alice", "g1", "a.example")


async def test_reached_targets_are_all_or_nothing_across_processes(
    redis_url: str, links: Callable[..., RedisLink]
) -> None:
    one = SharedProbeGuard(settings(probe_target_hourly_cap=1), links(redis_url))
    two = SharedProbeGuard(settings(probe_target_hourly_cap=1), links(redis_url))
    await one.take_targets(["203.0.113.5"])
    with pytest.raises(ProbeRefused, match=r"^203\.0\.113\.5 has been probed once in the last hour"):
        await two.take_targets(["relay.other.example", "203.0.113.5"])
    await two.take_targets(["relay.other.example"])  # the refused request spent nothing
    with pytest.raises(ProbeRefused, match=r"relay\.other\.example has been probed once"):
        await one.check("anyone", "g1", "relay.other.example")


async def test_the_global_limit_and_queue_hold_across_processes(
    redis_url: str, links: Callable[..., RedisLink]
) -> None:
    guards = [SharedProbeGuard(settings(probe_user_cooldown_seconds=0), links(redis_url)) for _ in range(2)]
    release = asyncio.Event()
    running = 0
    peak = 0

    async def probe(guard: SharedProbeGuard, user: str) -> None:
        nonlocal running, peak
        async with guard.admit(user, None, f"{user}.example"):
            running += 1
            peak = max(peak, running)
            await release.wait()
            running -= 1

    tasks = [asyncio.create_task(probe(guards[n % 2], f"user{n}")) for n in range(3)]
    for _ in range(100):  # two run, one waits
        if sum(g.running for g in guards) == 2 and sum(g.waiting for g in guards) == 1:
            break
        await asyncio.sleep(0.02)
    assert (sum(g.running for g in guards), sum(g.waiting for g in guards)) == (2, 1)
    with pytest.raises(ProbeRefused, match="already running 2 probes and has 1 waiting"):
        await guards[1].check("user9", None, "user9.example")  # the queue (1) is full
    release.set()
    await asyncio.gather(*tasks)
    assert peak == 2
    await admit_once(guards[0], "user9", None, "user9.example")  # every slot given back


async def test_a_dead_process_gives_its_slot_back_when_its_lease_lapses(
    redis_url: str, links: Callable[..., RedisLink]
) -> None:
    # A real process takes the only slot and is killed while holding it: no release, no renewal.
    script = textwrap.dedent(f"""
        import asyncio
        from bot.coordination.link import RedisLink
        from bot.coordination.probes import SharedProbeGuard
        from bot.metrics import Metrics
        from bot.settings import Settings

        async def main():
            settings = Settings(_env_file=None, probe_concurrency=1, probe_queue_limit=0)
            guard = SharedProbeGuard(settings, RedisLink.from_url({redis_url!r}, Metrics()), lease_seconds=1.0)
            async with guard.admit("victim-of-kill", None, "held.example"):
                print("holding", flush=True)
                await asyncio.sleep(60)

        asyncio.run(main())
    """)
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, cwd=REPO_ROOT, stdout=asyncio.subprocess.PIPE
    )
    assert child.stdout is not None
    assert await asyncio.wait_for(child.stdout.readline(), 30) == b"holding\n"
    guard = SharedProbeGuard(settings(probe_concurrency=1, probe_queue_limit=0), links(redis_url))
    with pytest.raises(ProbeRefused, match="already running 1 probes"):
        await guard.check("alice", None, "a.example")
    child.send_signal(signal.SIGKILL)
    await child.wait()
    for _ in range(60):  # the lease (1 s) lapses
        try:
            await guard.check("alice", None, "a.example")
            break
        except ProbeRefused:
            await asyncio.sleep(0.1)
    await admit_once(guard, "alice", None, "a.example")


async def test_a_finished_probe_leaves_no_lease(redis_url: str, links: Callable[..., RedisLink]) -> None:
    link = links(redis_url)
    guard = SharedProbeGuard(settings(), link)
    await admit_once(guard, "alice", "g1", "a.example")
    with pytest.raises(RuntimeError):
        async with guard.admit("bob", "g1", "b.example"):
            raise RuntimeError
    assert await link.client.zcard(LEASES) == 0


async def test_an_outage_refuses_probes_and_recovers(own_redis: RedisServer, links: Callable[..., RedisLink]) -> None:
    link = links(own_redis.url)
    guard = SharedProbeGuard(settings(), link)
    own_redis.stop()
    for attempt in (guard.check("alice", "g1", "a.example"), admit_once(guard, "alice", "g1", "a.example")):
        with pytest.raises(ProbeRefused) as refused:
            await attempt
        assert refused.value.reason == REDIS_DOWN
    with pytest.raises(ProbeRefused, match="Probes are paused"):
        await guard.take_targets(["203.0.113.9"])
    own_redis.start()
    for _ in range(100):
        if link.up:
            break
        await asyncio.sleep(0.05)
    await admit_once(guard, "alice", "g1", "a.example")
