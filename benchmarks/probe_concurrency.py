"""50 simultaneous probe requests from 50 users: the concurrency limit holds, each gets a result or a refusal.

Requests go through ProbeGuard exactly as the bot's command does (admit, then run_probe) against the lab's
aiosmtpd servers (tests/probe/servers.py). Reported: how many ran, how many were refused and why, the most
probes ever running at once, and latency.

Run from the repository root, as root (ports below 1024):
    .venv/bin/python benchmarks/probe_concurrency.py [--requests 50] [--concurrency 4] [--queue 16]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.probe import ProbeGuard, ProbeRefused, parse_target, run_probe  # noqa: E402 - after the path fix
from bot.settings import Settings, load_settings  # noqa: E402
from tests.probe.servers import (  # noqa: E402
    DNS_HOST,
    DNS_PORT,
    EXPIRED_HOST,
    MAIL_HOST,
    SELF_SIGNED_HOST,
    SMTP_HOST,
    start_lab,
)

TARGETS = [(SMTP_HOST, 465), (SMTP_HOST, 587), (MAIL_HOST, 25), (EXPIRED_HOST, 465), (SELF_SIGNED_HOST, 465)]
GUILDS = 5


async def one_request(number: int, guard: ProbeGuard, settings: Settings, running: list[int]) -> tuple[str, float, str]:
    host, port = TARGETS[number % len(TARGETS)]
    started = time.perf_counter()
    try:
        target = parse_target(host, port, None, None, settings)
        async with guard.admit(f"user{number}", f"guild{number % GUILDS}", f"{target.key}:{port}"):
            running[0] += 1
            running[1] = max(running[1], running[0])
            try:
                result = await run_probe(target, settings)
            finally:
                running[0] -= 1
    except ProbeRefused as exc:
        return "refused", time.perf_counter() - started, exc.reason.split(";")[0]
    return "answered", time.perf_counter() - started, result.outcome


async def scenario(settings: Settings, requests: int) -> None:
    guard = ProbeGuard(settings)
    running = [0, 0]  # now, peak
    started = time.perf_counter()
    outcomes = await asyncio.gather(*(one_request(n, guard, settings, running) for n in range(requests)))
    wall = time.perf_counter() - started
    answered = [outcome for outcome in outcomes if outcome[0] == "answered"]
    refused = [outcome for outcome in outcomes if outcome[0] == "refused"]
    assert len(answered) + len(refused) == requests
    assert running[1] <= settings.probe_concurrency, running
    print(
        f"concurrency {settings.probe_concurrency}, queue {settings.probe_queue_limit}: "
        f"{len(answered)} answered, {len(refused)} refused, peak running {running[1]}, wall {wall:.2f} s"
    )
    if answered:
        latencies = sorted(outcome[1] * 1000 for outcome in answered)
        p95 = latencies[max(0, int(len(latencies) * 0.95) - 1)]
        print(f"  answered latency: median {statistics.median(latencies):.0f} ms, p95 {p95:.0f} ms")
        print(f"  outcomes: {dict(collections.Counter(outcome[2] for outcome in answered))}")
    if refused:
        print(f"  refusals: {dict(collections.Counter(outcome[2] for outcome in refused))}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--queue", type=int, default=16)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="guidenest-bench-"))
    lab = start_lab(root, with_dovecot=False)
    try:
        for queue in (args.queue, args.requests):
            settings = load_settings(
                _env_file=None,
                probe_allow_networks="127.0.0.0/8",
                dns_servers=f"{DNS_HOST}:{DNS_PORT}",
                probe_ca_file=str(lab.ca_file),
                probe_concurrency=args.concurrency,
                probe_queue_limit=queue,
                probe_target_hourly_cap=args.requests,
            )
            asyncio.run(scenario(settings, args.requests))
    finally:
        lab.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
