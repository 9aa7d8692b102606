"""Messages per second and answer latency of real `guidenest run` processes, through the Discord emulator.

Setups (`--setup`; by default all three in turn), each with fresh servers in a temporary folder:
- sqlite: one process on a SQLite file;
- postgresql: one process on a throw-away PostgreSQL 15 (tests/pg.py);
- redis-two: two processes, shards 0 and 1 of 2 (GUIDENEST_SHARD_COUNT=2, GUIDENEST_SHARD_IDS=0 and 1), sharing
  one PostgreSQL database and one Redis (tests/redis_server.py), which then keeps the answer limits.

The world: 4 servers whose ids alternate between the two shards, each with two help channels enabled with
`/config channel`, a general channel and 50 members (200 authors). The limits are kept out of the way: answer
cooldown 0 and a million answers per member per minute, so every message that should be answered is.

The mix, in every 20 messages (a fixed shuffle; server, channel, author and wording drawn with a fixed seed):
-  9 questions in a help channel that the bot answers confidently (23 wordings: ports, error strings and codes,
     providers, spam, folders),
-  4 of those questions mentioning the bot in the general channel (answered),
-  1 chatter mentioning the bot (a "Not sure" reply; a miss is stored),
-  3 chatter lines in a help channel (silence; a miss is stored),
-  3 chatter lines in the general channel (not for the bot: ignored).
So 14 of 20 get a reply, 13 store an answer row, 4 store a miss row and 17 count in messages_seen.

Before measuring, a warm-up of the same mix (imports, first queries, connection pools; the re-ranker is fitted
by the first process into the temporary cache folder and read from it by the others). Then each round sends
`--messages` messages twice:
- full speed: one after another as fast as the emulator delivers them, so a queue builds up in the bot. Messages
  per second = messages / (first injection -> every expected reply posted, every answer and miss row
  committed, and messages_seen on /metrics up by the number considered). Latency here is mostly time spent
  queued (p99 is close to the burst's length): it shows saturation, not what a member waits.
- paced at `--rate` messages per second, open loop (each message at its scheduled time whatever the bot does):
  a busy server the bot keeps up with. This latency is what a member waits; msgs/s shows whether it kept up.
  Its p99 moves with whether one of the bot's full garbage collections (0.2-0.4 s at its heap, measured with a
  gc callback) falls in the phase: the messages that arrive meanwhile wait for it.
Latency is per reply, from the emulator storing the member's message (just before it sends MESSAGE_CREATE) to
it storing the bot's reply (the POST read and checked, before anything else happens to it). Both are stamped
on this process's clock by a subclass of the emulator's created-messages log: nothing is added to the emulator.
This process freezes its heap before each phase (gc.freeze), so the emulator's growing logs do not stall it.
Every expected reply must arrive, nothing else may be replied to, answers must be answers and "not sure" not
sure, row and metric counts must match, the emulator must record no violation and the bots must log no error
and stop cleanly on SIGTERM; otherwise the benchmark fails (exit 1).

Caveat: the emulator runs in this process and shares the CPU (2 cores here) with the bot, so the figures are a
floor. The two processes of redis-two compete on 2 cores with each other, the emulator, PostgreSQL and Redis
(and every limit check is a Redis round trip): that figure is not how far more processes scale on more cores.

The table shows each round and all rounds together (the median rate; percentiles of every reply).
Run from the repository root (a full default run takes about 3.5 minutes here):
    .venv/bin/python benchmarks/throughput.py [--setup sqlite|postgresql|redis-two] [--messages 2000]
        [--rate 100] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import random
import re
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parent.parent
sys.dont_write_bytecode = True  # nothing written into the checkout
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402 - after the path fix
import asyncpg  # noqa: E402

from tests.e2e.emulator import DiscordEmulator, Log, StoredMessage, World  # noqa: E402
from tests.e2e.guidenest_process import EXIT_TIMEOUT, GuidenestProcess, bot_environment  # noqa: E402
from tests.e2e.harness import Interaction  # noqa: E402
from tests.pg import PostgresServer, postgres_available  # noqa: E402
from tests.ports import free_port  # noqa: E402
from tests.redis_server import RedisServer, redis_available  # noqa: E402

if TYPE_CHECKING:
    from tests.e2e.emulator import Channel, User

SETUPS = ("sqlite", "postgresql", "redis-two")
SERVERS = 4
MEMBERS_PER_SERVER = 50
WARMUP = 300
SEED = 12
POLL = 0.01  # seconds between checks while waiting for the bot to settle

# Confident at the default level (checked with `guidenest ask --json`).
QUESTIONS = (
    "what port does imap use",
    "535 5.7.8 Username and Password not accepted",
    "smtp 587 or 465?",
    "outlook keeps asking for my password",
    "gmail imap settings",
    "thunderbird cannot send mail",
    "pop3 port",
    "what is port 465 for",
    "Cannot connect to server",
    "0x800CCC0E",
    "[SSL: WRONG_VERSION_NUMBER] wrong version number",
    "my emails go to spam",
    "what is the difference between imap and pop3",
    "icloud smtp server",
    "is port 25 blocked by my isp",
    "outgoing server settings for yahoo",
    "how do I set up outlook.com in thunderbird",
    "starttls or ssl/tls for port 587",
    "certificate expired error in mail app",
    "550 5.7.1 relaying denied",
    "sent emails not showing in sent folder",
    "app password for gmail",
    "SPF fail bounce message",
)
# Not confident at the default level: silence in a help channel, "Not sure" when the bot is mentioned.
CHATTER = (
    "my cat sat on the keyboard",
    "anyone watching the game tonight",
    "what is for lunch today",
    "good morning everyone",
    "thanks that worked",
    "lol same",
    "my toaster wont toast",
    "has anyone tried the new pizza place",
    "brb",
    "does anyone know a good vpn for gaming",
)


@dataclass(frozen=True)
class Kind:
    label: str
    in_help: bool  # in an enabled help channel (else the general channel)
    mention: bool
    confident: bool
    share: int  # of every 20 messages

    @property
    def considered(self) -> bool:
        return self.in_help or self.mention

    @property
    def replied(self) -> bool:
        return self.mention or (self.in_help and self.confident)


KINDS = (
    Kind("question in a help channel", in_help=True, mention=False, confident=True, share=9),
    Kind("question mentioning the bot", in_help=False, mention=True, confident=True, share=4),
    Kind("chatter mentioning the bot", in_help=False, mention=True, confident=False, share=1),
    Kind("chatter in a help channel", in_help=True, mention=False, confident=False, share=3),
    Kind("chatter in general", in_help=False, mention=False, confident=False, share=3),
)


class BenchmarkError(Exception):
    pass


class Server:
    """One help server: its owner (who runs /config), two help channels, a general channel, members."""

    def __init__(self, world: World, name: str, guild_id: int) -> None:
        self.owner = world.add_user(f"{name}-owner")
        self.guild = world.add_guild(name, owner=self.owner, guild_id=guild_id)
        self.help_channels = [self.guild.add_text_channel("help"), self.guild.add_text_channel("email-setup")]
        self.general = self.guild.add_text_channel("general")
        self.members = [world.add_user(f"{name}-member-{number}") for number in range(MEMBERS_PER_SERVER)]
        for member in self.members:
            self.guild.add_member(member)


class BenchWorld(World):
    def __init__(self) -> None:
        super().__init__()
        # Discord routes a guild to shard (guild_id >> 22) % shard_count: ids 1 ms apart alternate. The first
        # id is the next shard-0 one after every id handed out so far.
        base = self.ids.next()
        base += (2 << 22) - base % (2 << 22)
        self.servers = [Server(self, f"server-{n}", base + (n << 22)) for n in range(SERVERS)]


class StampedMessages(Log[StoredMessage]):
    """The emulator's log of created messages, with when each was created and the bot's replies by question."""

    def __init__(self, bot_id: int) -> None:
        super().__init__(str)
        self.bot_id = bot_id
        self.created_at: dict[int, float] = {}
        self.replies: dict[int, list[StoredMessage]] = {}  # question id -> the bot's replies to it
        self.reply_count = 0

    def append(self, item: StoredMessage) -> None:
        self.created_at[item.id] = time.perf_counter()
        if item.author_id == self.bot_id and (question := item.reference_id) is not None:
            self.replies.setdefault(question, []).append(item)
            self.reply_count += 1
        super().append(item)


@dataclass(frozen=True)
class Planned:
    kind: Kind
    text: str
    author: User
    channel: Channel


def plan(world: BenchWorld, count: int, rng: random.Random) -> list[Planned]:
    cycle = [kind for kind in KINDS for _ in range(kind.share)]
    random.Random(SEED).shuffle(cycle)
    planned = []
    for number in range(count):
        kind = cycle[number % len(cycle)]
        server = rng.choice(world.servers)
        channel = rng.choice(server.help_channels) if kind.in_help else server.general
        text = rng.choice(QUESTIONS if kind.confident else CHATTER)
        if kind.mention:
            text = f"{world.bot_user.mention} {text}"
        planned.append(Planned(kind, text, rng.choice(server.members), channel))
    return planned



@dataclass
class BotProcess:
    process: GuidenestProcess
    health_port: int

    async def metric(self, http: aiohttp.ClientSession, name: str) -> float:
        async with http.get(f"http://127.0.0.1:{self.health_port}/metrics") as response:
            text = await response.text()
        found = re.search(rf"^guidenest_{name} (\S+)$", text, re.MULTILINE)
        if found is None:
            raise BenchmarkError(f"no guidenest_{name} in /metrics")
        return float(found.group(1))


class Rows:
    """Answer and miss rows committed so far: what "settled" means for the database."""

    QUERY = "SELECT (SELECT COUNT(*) FROM answer), (SELECT COUNT(*) FROM miss)"

    def __init__(self, sqlite_path: Path | None = None, postgres_url: str | None = None) -> None:
        self._sqlite_path = sqlite_path
        self._postgres_url = postgres_url
        self._sqlite: sqlite3.Connection | None = None
        self._postgres: asyncpg.Connection | None = None

    async def count(self) -> tuple[int, int]:
        if self._postgres_url is not None:
            if self._postgres is None:
                self._postgres = await asyncpg.connect(self._postgres_url)
            row = await self._postgres.fetchrow(self.QUERY)
            return int(row[0]), int(row[1])
        assert self._sqlite_path is not None
        if self._sqlite is None:
            self._sqlite = sqlite3.connect(self._sqlite_path)
        answers, misses = self._sqlite.execute(self.QUERY).fetchone()
        return int(answers), int(misses)

    async def close(self) -> None:
        if self._postgres is not None:
            await self._postgres.close()
            self._postgres = None
        if self._sqlite is not None:
            self._sqlite.close()
            self._sqlite = None


@dataclass
class Phase:
    rate: float  # messages per second
    latencies: list[float] = field(default_factory=list)  # seconds, one per reply

    def percentile(self, percent: int) -> float:
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[percent - 1]


class Bench:
    """One setup: the emulator, the bot process(es) and how to drive and observe them."""

    def __init__(self, world: BenchWorld, emulator: DiscordEmulator, rows: Rows, http: aiohttp.ClientSession):
        self.world = world
        self.emulator = emulator
        self.rows = rows
        self.http = http
        self.bots: list[BotProcess] = []
        self.stamps = emulator.created_messages
        assert isinstance(self.stamps, StampedMessages)

    async def start_bot(self, env: dict[str, str], folder: Path, health_port: int) -> None:
        ready = self.emulator.gateway.ready
        started = len(ready)
        process = await GuidenestProcess.start(env, folder)
        bot = BotProcess(process, health_port)
        self.bots.append(bot)
        waiting = asyncio.create_task(
            ready.wait_for(lambda _: len(ready) > started, timeout=6 * EXIT_TIMEOUT, what="the bot's session")
        )
        exited = asyncio.create_task(process.process.wait())
        await asyncio.wait({waiting, exited}, return_when=asyncio.FIRST_COMPLETED)
        if not waiting.done() or waiting.exception() is not None:
            waiting.cancel()
            process.kill()
            finished = await process.finish()
            raise BenchmarkError(f"guidenest run did not connect ({finished.returncode}):\n{finished.output}")
        exited.cancel()
        # /metrics is served from before login: wait until it reports the gateway connected.
        deadline = time.monotonic() + 3 * EXIT_TIMEOUT
        while True:
            with contextlib.suppress(aiohttp.ClientError):
                if await bot.metric(self.http, "gateway_connected") == 1:
                    return
            if time.monotonic() > deadline:
                raise BenchmarkError("the bot's /metrics never reported the gateway connected")
            await asyncio.sleep(0.1)

    async def enable_help_channels(self) -> None:
        for server in self.world.servers:
            for channel in server.help_channels:
                record = await self.emulator.inject_slash(
                    "config channel", {"enabled": True, "channel": channel}, user=server.owner, channel=channel
                )
                await Interaction(self.emulator, record).reply(timeout=EXIT_TIMEOUT)

    async def seen(self) -> int:
        return int(sum([await bot.metric(self.http, "messages_seen_total") for bot in self.bots]))

    async def run(self, planned: list[Planned], rate: float | None) -> Phase:
        """Send `planned` (at `rate` per second, or at full speed), wait until the bot has settled, check."""
        # The emulator keeps every message and frame: out of this process's full collections, whose pauses
        # would otherwise be charged to the bot.
        gc.collect()
        gc.freeze()
        answers_before, misses_before = await self.rows.count()
        seen_before = await self.seen()
        replies_before = self.stamps.reply_count
        questions: list[tuple[Planned, StoredMessage]] = []
        started = time.perf_counter()
        for number, message in enumerate(planned):
            if rate is not None and (delay := started + number / rate - time.perf_counter()) > 0:
                await asyncio.sleep(delay)
            stored = await self.emulator.inject_message(message.text, author=message.author, channel=message.channel)
            questions.append((message, stored))
        first = self.stamps.created_at[questions[0][1].id]
        expected_replies = sum(1 for message in planned if message.kind.replied)
        # Answer rows, miss rows, messages_seen.
        wanted = (
            sum(1 for m in planned if m.kind.replied and m.kind.confident),
            sum(1 for m in planned if m.kind.considered and not m.kind.confident),
            sum(1 for m in planned if m.kind.considered),
        )
        deadline = time.perf_counter() + max(30.0, len(planned) / 20)
        while self.stamps.reply_count - replies_before < expected_replies:
            if time.perf_counter() > deadline:
                self._fail_missing(questions, "replies")
            await asyncio.sleep(POLL)
        while True:
            answers, misses = await self.rows.count()
            seen = await self.seen()
            counts = (answers - answers_before, misses - misses_before, seen - seen_before)
            # Stop at the counts wanted, at more than wanted (reported below), or at the deadline.
            if counts == wanted or any(map(int.__gt__, counts, wanted)) or time.perf_counter() > deadline:
                break
            await asyncio.sleep(POLL)
        settled = time.perf_counter()
        if counts != wanted:
            raise BenchmarkError(f"answer rows, miss rows and messages_seen went up by {counts}, not by {wanted}")
        phase = Phase(rate=len(planned) / (settled - first))
        for message, stored in questions:
            replies = self.stamps.replies.get(stored.id, [])
            if len(replies) != int(message.kind.replied):
                self._fail_missing(questions, "the right replies")
            if replies:
                title = replies[0].embeds[0].get("title") if replies[0].embeds else None
                if (title == "Not sure") == message.kind.confident:
                    raise BenchmarkError(f"{message.kind.label} {message.text!r} was answered with {title!r}")
                phase.latencies.append(self.stamps.created_at[replies[0].id] - self.stamps.created_at[stored.id])
        if self.emulator.violations:
            listed = "\n".join(str(violation) for violation in self.emulator.violations[:10])
            raise BenchmarkError(f"the emulator recorded {len(self.emulator.violations)} violations:\n{listed}")
        return phase

    def _fail_missing(self, questions: list[tuple[Planned, StoredMessage]], what: str) -> None:
        wrong: dict[str, int] = {}
        for message, stored in questions:
            if len(self.stamps.replies.get(stored.id, [])) != int(message.kind.replied):
                wrong[message.kind.label] = wrong.get(message.kind.label, 0) + 1
        listed = ", ".join(f"{count} {label}" for label, count in wrong.items())
        raise BenchmarkError(f"not {what}: {listed or 'none missing, but too few replies in all'}")

    async def stop(self) -> None:
        """SIGTERM each bot; each must exit 0 having logged no error."""
        problems = []
        for bot in self.bots:
            bot.process.send(signal.SIGTERM)
        for bot in self.bots:
            finished = await bot.process.finish()
            if finished.returncode != 0 or "Traceback" in finished.output or "ERROR" in finished.output:
                problems.append(f"exit {finished.returncode}:\n{finished.output[-3000:]}")
        self.bots.clear()
        if problems:
            raise BenchmarkError("a bot did not stop cleanly:\n" + "\n".join(problems))

    async def kill(self) -> list[str]:
        """Kill the bots still running; what each printed."""
        for bot in self.bots:
            bot.process.kill()
        outputs = [(await bot.process.finish()).output for bot in self.bots]
        self.bots.clear()
        return outputs


@dataclass
class Result:
    setup: str
    full: list[Phase]
    paced: list[Phase]


async def run_setup(setup: str, messages: int, rate: float, rounds: int, folder: Path, cache: Path) -> Result:
    # SIGTERM stops the benchmark as Ctrl+C does: the task is cancelled and every `finally` below runs.
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    postgres = redis = None
    try:
        # Started without awaiting: a cancellation lands after a server is up, never while it starts.
        if setup != "sqlite":
            postgres = PostgresServer()
            postgres.init()
            postgres.start()
        if setup == "redis-two":
            redis = RedisServer()
            redis.start()
        return await drive(setup, messages, rate, rounds, folder, cache, postgres, redis)
    finally:
        if redis is not None:
            redis.cleanup()
        if postgres is not None:
            with contextlib.suppress(RuntimeError, OSError, subprocess.SubprocessError):
                postgres.stop()  # already stopped if it failed to start
            postgres.cleanup()


async def drive(
    setup: str,
    messages: int,
    rate: float,
    rounds: int,
    folder: Path,
    cache: Path,
    postgres: PostgresServer | None,
    redis: RedisServer | None,
) -> Result:
    world = BenchWorld()
    emulator = DiscordEmulator(world)
    emulator.created_messages = StampedMessages(world.bot_user.id)
    await emulator.start()
    settings = {
        "log_level": "WARNING",
        "answer_cooldown_seconds": "0",
        "user_rate_limit": "1000000",
    }
    if postgres is not None:
        settings["database_url"] = postgres.create_database()
        rows = Rows(postgres_url=settings["database_url"])
    else:
        rows = Rows(sqlite_path=folder / "guidenest.sqlite3")
    if redis is not None:
        settings["redis_url"] = redis.url
    shards = [{"shard_count": "2", "shard_ids": "0"}, {"shard_count": "2", "shard_ids": "1"}]
    http = aiohttp.ClientSession()
    bench = Bench(world, emulator, rows, http)
    try:
        for number, shard in enumerate(shards if setup == "redis-two" else [{}]):
            health_port = free_port()
            env = bot_environment(emulator, folder, world.token, **settings, **shard, health_port=str(health_port))
            env.update(XDG_CACHE_HOME=str(cache), PYTHONDONTWRITEBYTECODE="1")
            await bench.start_bot(env, folder / f"run-{number}", health_port)
        await bench.enable_help_channels()
        rng = random.Random(SEED)
        await bench.run(plan(world, WARMUP, rng), rate=None)
        result = Result(setup, [], [])
        for _ in range(rounds):
            result.full.append(await bench.run(plan(world, messages, rng), rate=None))
            result.paced.append(await bench.run(plan(world, messages, rng), rate=rate))
    except BenchmarkError:
        for output in await bench.kill():
            print(f"--- a bot's output, last lines:\n{output[-3000:]}", file=sys.stderr)
        raise
    else:
        await rows.close()  # before the bot closes its database
        await bench.stop()  # raises with the bot's output if it stopped badly
        return result
    finally:
        await bench.kill()
        await rows.close()
        await http.close()
        await emulator.stop()


TITLES = {
    "sqlite": "sqlite: 1 process, SQLite",
    "postgresql": "postgresql: 1 process, PostgreSQL",
    "redis-two": "redis-two: 2 processes (shards 0, 1 of 2), PostgreSQL + Redis",
}


def pooled(phases: list[Phase]) -> Phase:
    """The rounds together: the median rate, and every reply's latency."""
    return Phase(statistics.median(phase.rate for phase in phases), [x for phase in phases for x in phase.latencies])


def print_table(result: Result, messages: int, rate: float) -> None:
    print(f"{TITLES[result.setup]}  ({messages} messages per phase)")
    print(f"  {'phase':<26} {'msgs/s':>8} {'replies':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    for label, phases in (("full speed", result.full), (f"paced at {rate:g}/s", result.paced)):
        rows = [(f"{label}, round {number}", phase) for number, phase in enumerate(phases, 1)]
        if len(phases) > 1:
            rows.append((f"{label}, all rounds", pooled(phases)))
        for name, phase in rows:
            print(
                f"  {name:<26} {phase.rate:8.1f} {len(phase.latencies):8d}"
                + "".join(f" {1000 * phase.percentile(p):8.0f}" for p in (50, 95, 99))
            )
    print()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--setup", choices=SETUPS, help="one setup (default: all three in turn)")
    parser.add_argument("--messages", type=int, default=2000, help="messages per phase (default 2000)")
    parser.add_argument("--rate", type=float, default=100.0, help="offered messages/s of the paced phase (default 100)")
    parser.add_argument("--rounds", type=int, default=2, help="full-speed and paced phases each (default 2)")
    args = parser.parse_args()
    setups = [args.setup] if args.setup else list(SETUPS)
    if any(setup != "sqlite" for setup in setups) and not postgres_available():
        parser.error("PostgreSQL 15 is not installed (apt install postgresql-15)")
    if "redis-two" in setups and not redis_available():
        parser.error("Redis is not installed (apt install redis-server)")
    print(
        f"{args.messages} messages per phase, rounds: {args.rounds}, after {WARMUP} warm-up messages; latency"
        " from the member's message to the bot's reply, both as the emulator stores them"
    )
    print("mix of every 20 messages: " + ", ".join(f"{kind.share} {kind.label}" for kind in KINDS) + "\n")
    results = []
    try:
        with tempfile.TemporaryDirectory(prefix="guidenest-throughput-") as temporary:
            cache = Path(temporary) / "cache"
            for setup in setups:
                folder = Path(temporary) / setup
                for number in range(2):  # each process's working folder, without a .env
                    (folder / f"run-{number}").mkdir(parents=True)
                result = asyncio.run(run_setup(setup, args.messages, args.rate, args.rounds, folder, cache))
                print_table(result, args.messages, args.rate)
                results.append(result)
    except BenchmarkError as failure:
        print(f"FAILED: {failure}", file=sys.stderr)
        return 1
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("interrupted; processes and servers stopped", file=sys.stderr)
        return 130
    print(
        "summary (msgs/s at full speed, median of the rounds; p99 of every paced reply): "
        + " · ".join(
            f"{r.setup} {pooled(r.full).rate:.0f} msgs/s, p99 {1000 * pooled(r.paced).percentile(99):.0f} ms"
            f" at {args.rate:g}/s"
            for r in results
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
