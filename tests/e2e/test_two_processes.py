"""Two `guidenest run` processes, shards 0 and 1 of 2, on one PostgreSQL and one Redis, against the emulator.

One run, because starting processes is what costs time. It shows, in order:
1. each process answers the guild Discord routes to its shard;
2. the global probe limit holds across them: while one runs the only probe slot, the other refuses;
3. the per-target hourly cap holds across them: a target probed from one guild is refused in the other;
4. `/kb reload` in one guild reloads the other process too (a new entry answers there);
5. killing one process (SIGKILL) leaves the other answering;
6. a process started afterwards for every shard sees, in `/probe-history` and `/kb stats`, the rows both wrote.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest

from bot.settings import DEFAULT_PROBE_PORTS
from tests.e2e.cogs_helpers import embed
from tests.e2e.emulator import Perm, World
from tests.e2e.guidenest_process import EXIT_TIMEOUT, GuidenestProcess, bot_environment, until_ready
from tests.ports import free_port

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from tests.e2e.emulator import DiscordEmulator
    from tests.e2e.emulator.state import Channel, Guild, User
    from tests.pg import PostgresServer

REPO_ROOT = Path(__file__).resolve().parents[2]
# This module's addresses: a server that accepts and never speaks (a probe there holds its slot until its
# timeout), and one more target.
SILENT = "127.0.4.10"
OTHER = "127.0.4.11"
PROBE_TIMEOUT = 4
NEW_ENTRY = "quokka-relay"
NEW_ASK = "how do i set up the quokka relay for my mail"


class Side:
    """One help server: a guild, its help channel, a moderator and a member."""

    def __init__(self, world: World, name: str, guild_id: int) -> None:
        owner = world.add_user(f"{name}-owner")
        self.guild: Guild = world.add_guild(name, owner=owner, guild_id=guild_id)
        moderators = self.guild.add_role("Moderator", Perm.MANAGE_GUILD | Perm.MANAGE_MESSAGES)
        self.moderator: User = world.add_user(f"{name}-moderator")
        self.member: User = world.add_user(f"{name}-member")
        self.guild.add_member(self.moderator, [moderators])
        self.guild.add_member(self.member)
        self.help: Channel = self.guild.add_text_channel("help")


class TwoShardWorld(World):
    def __init__(self) -> None:
        super().__init__()
        # Discord routes a guild to shard (guild_id >> 22) % shard_count: ids one millisecond apart alternate.
        base = self.ids.next()
        base -= base % (2 << 22)  # on shard 0 of 2
        self.sides = (Side(self, "first", base), Side(self, "second", base + (1 << 22)))


@pytest.fixture
def world() -> TwoShardWorld:
    return TwoShardWorld()



@pytest.fixture
async def silent_server() -> AsyncIterator[tuple[int, asyncio.Event]]:
    """A TCP server on SILENT that accepts and says nothing; the event is set at its first connection."""
    connected = asyncio.Event()
    held: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        del reader
        held.append(writer)
        connected.set()

    server = await asyncio.start_server(hold, SILENT, 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield port, connected
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()


class Bot:
    """One `guidenest run` process and its /metrics."""

    def __init__(self, process: GuidenestProcess, health_port: int) -> None:
        self.process = process
        self.health_port = health_port

    async def metric(self, name: str) -> float:
        url = f"http://127.0.0.1:{self.health_port}/metrics"
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            text = await response.text()
        found = re.search(rf"^guidenest_{name} (\S+)$", text, re.MULTILINE)
        assert found, f"no {name} in /metrics"
        return float(found.group(1))

    async def wait_for_metric(self, name: str, wanted: float, within: float = EXIT_TIMEOUT) -> None:
        deadline = asyncio.get_running_loop().time() + within
        while (value := await self.metric(name)) != wanted:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{name} is {value}, not {wanted}, after {within:.0f} s")
            await asyncio.sleep(0.1)


async def test_two_shard_processes_share_limits_reloads_and_storage(
    emulator: DiscordEmulator,
    tmp_path: Path,
    postgres_server: PostgresServer,
    redis_url: str,
    silent_server: tuple[int, asyncio.Event],
) -> None:
    world = emulator.world
    assert isinstance(world, TwoShardWorld)
    first, second = world.sides
    silent_port, silent_connected = silent_server
    knowledge = tmp_path / "knowledge"
    shutil.copytree(REPO_ROOT / "knowledge", knowledge)
    common = {
        "shard_count": "2",
        "database_url": postgres_server.create_database(),
        "redis_url": redis_url,
        "knowledge_dir": str(knowledge),
        "probe_allow_networks": "127.0.0.0/8",
        "probe_allowed_ports": ",".join(str(p) for p in (*DEFAULT_PROBE_PORTS, silent_port)),
        "probe_timeout_seconds": str(PROBE_TIMEOUT),
        "probe_concurrency": "1",
        "probe_queue_limit": "0",
        "probe_target_hourly_cap": "1",
        "probe_user_cooldown_seconds": "0",
    }

    async def start(shard_ids: str | None, **overrides: str) -> Bot:
        health_port = free_port()
        settings = {**common, "health_port": str(health_port), **overrides}
        if shard_ids is not None:
            settings["shard_ids"] = shard_ids
        env = bot_environment(emulator, tmp_path, world.token, **settings)
        folder = tmp_path / f"run-{health_port}"
        folder.mkdir()
        sessions_before = len(emulator.gateway.ready)
        process = await GuidenestProcess.start(env, folder)
        bot = Bot(process, health_port)
        await until_ready(emulator, process, sessions_before=sessions_before, within=3 * EXIT_TIMEOUT)
        # The health endpoint answers once the bot is ready (it opens before login; wait for connected).
        await bot.wait_for_metric("gateway_connected", 1, within=3 * EXIT_TIMEOUT)
        return bot

    async def ask(side: Side, text: str) -> dict[str, Any]:
        mark = emulator.calls.mark()
        question = await emulator.inject_message(
            f"{world.bot_user.mention} {text}", author=side.member, channel=side.help
        )
        reply = await emulator.calls.wait_for(
            lambda c: c.matches("POST", f"/channels/{side.help.id}/messages") and c.status == 200,
            since=mark,
            timeout=EXIT_TIMEOUT,
            what=f"the answer in {side.guild.name}",
        )
        answer = emulator.message(int(reply.response["id"]))
        assert answer.reference_id == question.id
        return embed(answer)

    async def slash(
        side: Side, name: str, within: float = EXIT_TIMEOUT + PROBE_TIMEOUT, **options: Any
    ) -> dict[str, Any]:
        from tests.e2e.harness import Interaction

        record = await emulator.inject_slash(name, options, user=side.moderator, channel=side.help)
        return embed(await Interaction(emulator, record).reply(timeout=within))

    shard0 = await start("0")
    shard1 = await start("1")
    processes = [shard0, shard1]
    try:
        # 1. Each guild is answered by the process that holds its shard.
        assert "993" in (await ask(first, "what port does imap use"))["description"]
        assert "995" in (await ask(second, "what port does pop3 use"))["description"]
        assert (await shard0.metric("answers_total"), await shard1.metric("answers_total")) == (1, 1)

        # 2. The only probe slot, taken in the first guild, is taken for the second as well.
        running = asyncio.create_task(slash(first, "probe", host=SILENT, port=silent_port, protocol="imap",
                                            security="plain"))  # fmt: skip
        await asyncio.wait_for(silent_connected.wait(), EXIT_TIMEOUT)
        busy = await slash(second, "probe", host=OTHER, port=993)
        assert busy["title"] == "Refused"
        assert "already running 1 probes" in busy["description"]
        held = await running
        assert held["title"].startswith("Probe: IMAP 127.0.4.10")

        # 3. The target probed from the first guild has had its probe for the hour, in the second guild too.
        capped = await slash(second, "probe", host=SILENT, port=silent_port, protocol="imap", security="plain")
        assert capped["title"] == "Refused"
        assert "has been probed once in the last hour" in capped["description"]

        # 4. A new entry, /kb reload in the first guild: the second guild's process answers with it too.
        before = await shard1.metric("knowledge_entries")
        (knowledge / "entries" / f"{NEW_ENTRY}.md").write_text(
            "---\ntitle: The quokka relay\nasks:\n  - " + NEW_ASK + "\ntags: [smtp]\n"
            "sources:\n  - title: RFC 6409 — Message Submission for Mail\n"
            "    url: https://www.rfc-editor.org/rfc/rfc6409\n---\n"
            "The quokka relay is a test entry: use **587** with STARTTLS and sign in.\n",
            encoding="utf-8",
        )
        # A reload with a new entry fits the re-ranker anew (7-13 s idle, twice that on a busy machine).
        reloaded = await slash(first, "kb reload", within=3 * EXIT_TIMEOUT)
        assert reloaded["title"] == "Knowledge reloaded"
        await shard1.wait_for_metric("knowledge_entries", before + 1, within=3 * EXIT_TIMEOUT)
        assert (await ask(second, NEW_ASK))["title"] == "The quokka relay"

        # Misses for /kb stats, one written by each process.
        for side in (first, second):
            await ask(side, f"my {side.guild.name} toaster wont toast")

        # 5. One process killed: the other goes on answering its guild.
        shard0.process.kill()
        await shard0.process.process.wait()
        processes.remove(shard0)
        assert "465" in (await ask(second, "what is port 465 for"))["description"]

        # 6. One process for every shard reads what both wrote.
        shard1.process.send(signal.SIGTERM)
        finished = await shard1.process.finish()
        processes.remove(shard1)
        assert finished.returncode == 0, finished.output
        assert "Traceback" not in finished.output
        everything = await start(None, shard_count="1")
        processes.append(everything)
        history_first = await slash(first, "probe-history")
        history_second = await slash(second, "probe-history")
        assert SILENT in str(history_first)  # run by the first process
        assert OTHER in str(history_second)  # refused by the second
        assert "already running" in str(history_second) or "refused" in str(history_second).lower()
        for side in (first, second):
            stats = await slash(side, "kb stats")
            assert f"{side.guild.name} toaster" in str(stats), stats
    finally:
        for bot in processes:
            bot.process.kill()
        for bot in processes:
            await bot.process.process.wait()
