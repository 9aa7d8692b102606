"""A burst of channel messages right after `/config channel` (cold settings cache) and again once cached (warm).

The real bot, as `guidenest run` builds it, runs against the e2e Discord emulator (tests/e2e/emulator/) with a
database in a temporary folder. Each round a moderator enables the help channel with `/config channel`, which
empties the answering cog's settings cache, and at once `--messages` member messages arrive there (questions the
bot answers, and chatter it records as misses): the cold burst. Then the same number again: the warm burst.
A burst lasts from its first message until the bot has read every event and no handler is still running.

Printed: messages per second for each burst (median of the rounds), how many guild-settings queries each burst
ran (counted with SQLite's trace callback), the cold/warm ratio (the target is at least 0.90), and a check that
every answer and miss is in the database file once the bot has closed.

Run from the repository root:
    .venv/bin/python benchmarks/answer_burst.py [--messages 500] [--rounds 9]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.settings import Settings  # noqa: E402 - after the path fix
from tests.e2e.emulator import DefaultWorld, DiscordEmulator  # noqa: E402
from tests.e2e.harness import BotHarness, LogGuard  # noqa: E402

# Confident matches at the default level (answered), and chatter (recorded as misses).
QUESTIONS = (
    "what port does imap use",
    "535 5.7.8 Username and Password not accepted",
    "smtp 587 or 465?",
    "outlook keeps asking for my password",
    "gmail imap settings",
    "thunderbird cannot send mail",
    "pop3 port",
)
CHATTER = ("my cat sat on the keyboard", "anyone watching the game tonight", "what is for lunch today")
TARGET_RATIO = 0.90


def burst_texts(count: int, round_number: int, label: str) -> list[str]:
    """Two questions to one chatter line; the suffix keeps every miss text distinct."""
    texts = []
    for number in range(count):
        if number % 3 == 2:
            texts.append(f"{CHATTER[number % len(CHATTER)]} ({label} {round_number}.{number})")
        else:
            texts.append(QUESTIONS[number % len(QUESTIONS)])
    return texts


async def burst(harness: BotHarness, texts: list[str], authors: list, settle_timeout: float) -> float:
    """Seconds from the first message until the bot has handled all of them."""
    world = harness.world
    started = time.perf_counter()
    for number, text in enumerate(texts):
        await harness.send_message(text, channel=world.help, author=authors[number % len(authors)])
    await harness.settle(timeout=settle_timeout)
    return time.perf_counter() - started


async def run(messages: int, rounds: int, database: Path) -> dict[str, list[float] | list[int] | int]:
    world = DefaultWorld()
    emulator = DiscordEmulator(world)
    await emulator.start()
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        DISCORD_TOKEN=world.token,
        discord_api_base=emulator.api_base,
        discord_gateway_url=emulator.gateway_url,
        dev_guild=world.guild.id,
        database_path=database,
        log_level="WARNING",
        # Every message counts: no cooldown on repeating an answer, no per-member limit in reach.
        answer_cooldown_seconds=0,
        user_rate_limit=1_000_000,
    )
    guard = LogGuard()
    guard.install()
    harness = BotHarness(emulator, settings, guard)
    bot = await harness.start(timeout=30.0)
    settings_queries = [0]

    def trace(statement: str) -> None:  # runs on the storage's worker thread
        if "FROM guild_config" in statement:
            settings_queries[0] += 1

    await bot.storage._db.set_trace_callback(trace)  # the benchmark counts queries
    authors = [world.member, world.helper, world.owner, world.moderator]
    results: dict[str, list[float] | list[int] | int] = {"cold": [], "warm": [], "cold_q": [], "warm_q": []}
    settle_timeout = max(30.0, messages / 20)
    try:
        for round_number in range(rounds):
            # Every other round the warm burst goes first (the cache is still full from the round before),
            # so a machine getting busier or quieter does not favour one kind.
            order = ("cold", "warm") if round_number % 2 == 0 else ("warm", "cold")
            for label in order:
                if label == "cold":
                    enable = await harness.slash(
                        "config channel", user=world.moderator, enabled=True, channel=world.help
                    )
                    await enable.reply()
                before = settings_queries[0]
                seconds = await burst(harness, burst_texts(messages, round_number, label), authors, settle_timeout)
                results[label].append(messages / seconds)  # type: ignore[union-attr]
                results[f"{label}_q"].append(settings_queries[0] - before)  # type: ignore[union-attr]
        answers_sent = sum(
            1 for message in emulator.bot_messages(world.help.id) if message.data.get("message_reference")
        )
        results["answers_sent"] = answers_sent
    finally:
        await harness.stop()
        guard.uninstall()
        await emulator.stop()
    if guard.records:
        results["errors"] = len(guard.records)
        print(guard.report(), file=sys.stderr)
    return results


def stored_rows(database: Path) -> tuple[int, int]:
    connection = sqlite3.connect(database)
    try:
        answers = connection.execute("SELECT COUNT(*) FROM answer").fetchone()[0]
        misses = connection.execute("SELECT COUNT(*) FROM miss").fetchone()[0]
    finally:
        connection.close()
    return int(answers), int(misses)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=500, help="messages per burst")
    parser.add_argument("--rounds", type=int, default=9, help="cold and warm bursts each")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("discord.client").setLevel(logging.ERROR)  # no voice support: not news here
    with tempfile.TemporaryDirectory(prefix="guidenest-burst-") as folder:
        database = Path(folder) / "burst.sqlite3"
        results = asyncio.run(run(args.messages, args.rounds, database))
        answers, misses = stored_rows(database)
    cold, warm = results["cold"], results["warm"]
    assert isinstance(cold, list)
    assert isinstance(warm, list)
    cold_rate, warm_rate = statistics.median(cold), statistics.median(warm)
    print(f"{args.messages} messages per burst, {args.rounds} rounds (median; every round in brackets)")
    for label, rates in (("cold", cold), ("warm", warm)):
        listed = ", ".join(f"{rate:.0f}" for rate in rates)
        print(
            f"  {label} settings cache: {statistics.median(rates):6.0f} msgs/s  [{listed}]"
            f"  guild-settings queries per burst: {results[f'{label}_q']}"
        )
    ratio = cold_rate / warm_rate
    # Each round's cold and warm bursts ran back to back, under the same load from the rest of the machine.
    paired = statistics.median(c / w for c, w in zip(cold, warm, strict=True))
    verdict = "ok" if min(ratio, paired) >= TARGET_RATIO else f"BELOW the {TARGET_RATIO:.0%} target"
    print(f"  cold / warm: {ratio:.2f} of the medians, {paired:.2f} median of the rounds ({verdict})")
    bursts = 2 * args.rounds
    expected_misses = bursts * sum(1 for number in range(args.messages) if number % 3 == 2)
    print(
        f"  stored after close: {answers} answers (bot replies sent: {results['answers_sent']}),"
        f" {misses} misses (expected {expected_misses})"
    )
    if results.get("errors"):
        print(f"  {results['errors']} ERROR log records (above)")


if __name__ == "__main__":
    main()
