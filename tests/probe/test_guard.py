"""Rate limits: per-user cooldown, per-guild and per-target hourly caps, global concurrency and its queue."""

from __future__ import annotations

import asyncio

import pytest

from bot.probe import ProbeGuard, ProbeRefused
from bot.probe.guard import RequestTargets, format_wait
from bot.settings import Settings, load_settings


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def settings(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "_env_file": None,
        "probe_user_cooldown_seconds": 30,
        "probe_guild_hourly_cap": 3,
        "probe_target_hourly_cap": 2,
        "probe_concurrency": 2,
        "probe_queue_limit": 1,
    }
    values.update(overrides)
    return load_settings(**values)


async def admit_once(guard: ProbeGuard, user: str, guild: str | None, target: str) -> None:
    async with guard.admit(user, guild, target):
        pass


async def test_user_cooldown_with_retry_time() -> None:
    clock = Clock()
    guard = ProbeGuard(settings(), clock=clock)
    await admit_once(guard, "alice", "g1", "a.example")
    clock.now += 10
    with pytest.raises(ProbeRefused) as caught:
        await admit_once(guard, "alice", "g1", "b.example")
    assert "one probe every 30 s" in caught.value.reason
    assert "try again in 20 s" in caught.value.reason
    await admit_once(guard, "bob", "g1", "b.example")  # someone else is not held back
    clock.now += 20
    await admit_once(guard, "alice", "g1", "c.example")


async def test_guild_hourly_cap() -> None:
    clock = Clock()
    guard = ProbeGuard(settings(probe_target_hourly_cap=100), clock=clock)
    for number in range(3):
        await admit_once(guard, f"user{number}", "g1", f"host{number}.example")
        clock.now += 60
    with pytest.raises(ProbeRefused) as caught:
        await admit_once(guard, "user9", "g1", "other.example")
    assert "used its 3 probes for the hour" in caught.value.reason
    assert "57 min" in caught.value.reason  # the first probe of the hour ages out after 57 more minutes
    await admit_once(guard, "user9", "g2", "other.example")  # another guild has its own budget
    clock.now += 57 * 60
    await admit_once(guard, "user10", "g1", "other.example")


async def test_target_cap_counts_every_guild() -> None:
    clock = Clock()
    guard = ProbeGuard(settings(), clock=clock)
    await admit_once(guard, "alice", "g1", "mail.victim.example")
    await admit_once(guard, "bob", "g2", "mail.victim.example")
    with pytest.raises(ProbeRefused) as caught:
        await admit_once(guard, "carol", "g3", "mail.victim.example")
    assert "mail.victim.example has been probed 2 times" in caught.value.reason
    assert "counting every server" in caught.value.reason
    clock.now += 3600
    await admit_once(guard, "carol", "g3", "mail.victim.example")


async def test_hosts_a_request_reaches_share_the_target_budget_with_direct_probes() -> None:
    clock = Clock()
    guard = ProbeGuard(settings(probe_user_cooldown_seconds=0), clock=clock)
    await admit_once(guard, "alice", "g1", "mail.victim.example")
    await guard.take_targets(["mail.victim.example"])  # a discovery elsewhere reached the same host
    with pytest.raises(ProbeRefused, match=r"mail\.victim\.example has been probed 2 times"):
        await admit_once(guard, "bob", "g2", "mail.victim.example")
    with pytest.raises(ProbeRefused, match=r"mail\.victim\.example has been probed 2 times"):
        await guard.take_targets(["mail.victim.example"])
    # Counting a reached host needs no slot: the request that reaches it holds one already.
    assert (guard.running, guard.waiting) == (0, 0)
    clock.now += 3600
    await guard.take_targets(["mail.victim.example"])


async def test_taking_several_targets_is_all_or_nothing() -> None:
    guard = ProbeGuard(settings(probe_target_hourly_cap=1), clock=Clock())
    await guard.take_targets(["203.0.113.5"])
    with pytest.raises(ProbeRefused, match=r"^203\.0\.113\.5 has been probed once in the last hour"):
        await guard.take_targets(["relay.other.example", "203.0.113.5"])
    # The refused request did not spend the name's budget on the way.
    await guard.take_targets(["relay.other.example"])


async def test_a_request_counts_each_target_once_however_many_connections() -> None:
    guard = ProbeGuard(settings(probe_target_hourly_cap=1), clock=Clock())
    # The admission counted the domain itself; the request's own hosts and addresses come on top, once each.
    reached = RequestTargets(guard, counted=["example.test"])
    for _port in (993, 143, 465, 587, 25):  # one host tried on several ports, all on one address
        await reached.take(["example.test", "mail.example.test", "203.0.113.7"])
        await reached.take(["smtp.example.test", "203.0.113.7"])
    await guard.check("anyone", "g1", "example.test")  # not counted by this request (its admission counts it)
    for key in ("mail.example.test", "smtp.example.test", "203.0.113.7"):
        with pytest.raises(ProbeRefused, match="has been probed once"):
            await guard.check("anyone", "g1", key)
    other = RequestTargets(guard)
    with pytest.raises(ProbeRefused, match=r"mail\.example\.test has been probed once"):
        await other.take(["mail.example.test"])


async def test_direct_messages_have_no_guild_but_keep_user_and_target_limits() -> None:
    guard = ProbeGuard(settings(), clock=Clock())
    await admit_once(guard, "alice", None, "x.example")
    with pytest.raises(ProbeRefused):
        await admit_once(guard, "alice", None, "y.example")


async def test_concurrency_limit_and_queue() -> None:
    guard = ProbeGuard(settings(probe_user_cooldown_seconds=0, probe_target_hourly_cap=100), clock=Clock())
    release = asyncio.Event()
    inside: list[str] = []

    async def hold(user: str) -> None:
        async with guard.admit(user, "g1", f"{user}.example"):
            inside.append(user)
            await release.wait()

    first = asyncio.create_task(hold("u1"))
    second = asyncio.create_task(hold("u2"))
    queued = asyncio.create_task(hold("u3"))
    await asyncio.sleep(0.05)
    assert sorted(inside) == ["u1", "u2"]  # the third waits for a slot
    assert (guard.running, guard.waiting) == (2, 1)
    with pytest.raises(ProbeRefused, match="already running 2 probes"):
        await admit_once(guard, "u4", "g2", "u4.example")
    release.set()
    await asyncio.gather(first, second, queued)
    assert sorted(inside) == ["u1", "u2", "u3"]
    assert guard.peak_running == 2
    assert (guard.running, guard.waiting) == (0, 0)
    # The busy refusal did not cost u4 its turn.
    await admit_once(guard, "u4", "g2", "u4.example")


async def test_parallel_requests_from_one_user_cannot_slip_through() -> None:
    guard = ProbeGuard(settings(probe_concurrency=1, probe_queue_limit=10), clock=Clock())
    outcomes = await asyncio.gather(
        *(admit_once(guard, "alice", "g1", f"h{number}.example") for number in range(5)),
        return_exceptions=True,
    )
    assert sum(outcome is None for outcome in outcomes) == 1
    assert all(isinstance(outcome, ProbeRefused) for outcome in outcomes if outcome is not None)


async def test_a_failing_probe_gives_its_slot_back() -> None:
    guard = ProbeGuard(settings(probe_concurrency=1, probe_user_cooldown_seconds=0), clock=Clock())
    with pytest.raises(RuntimeError):
        async with guard.admit("alice", "g1", "a.example"):
            raise RuntimeError("boom")
    assert guard.running == 0
    await asyncio.wait_for(admit_once(guard, "alice", "g1", "b.example"), 1)


def test_wait_times_round_up() -> None:
    assert [format_wait(value) for value in (0.2, 29.1, 60, 61, 3599, 3600, 3900)] == [
        "1 s",
        "30 s",
        "1 min",
        "2 min",
        "1 h",
        "1 h",
        "1 h 5 min",
    ]
