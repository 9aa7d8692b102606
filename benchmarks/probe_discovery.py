"""How long discovery takes when the best guesses never answer, relative to one probe timeout (target 1x).

The lab from tests/probe/servers.py: `mail.guess.test` offers all seven mail ports (Dovecot and aiosmtpd),
while `imap.guess.test`, `smtp.guess.test` and the bare `guess.test` accept connections and never say a word.
Thunderbird's rule (a guess wins once it works and every better guess has failed) means discovery must wait
for the silent better guesses; in parallel with staggered starts that costs one timeout, not one per guess.

Run from the repository root, as root (Dovecot and ports below 1024):
    .venv/bin/python benchmarks/probe_discovery.py [--timeout 10] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.probe import discover  # noqa: E402 - after the path fix above
from bot.settings import load_settings  # noqa: E402
from tests.probe.servers import DNS_HOST, DNS_PORT, MAIL_HOST, SILENT_HOST, start_lab  # noqa: E402


async def measure(seconds: float, runs: int, ca_file: Path) -> list[float]:
    settings = load_settings(
        _env_file=None,
        probe_allow_networks="127.0.0.0/8",
        dns_servers=f"{DNS_HOST}:{DNS_PORT}",
        probe_ca_file=str(ca_file),
        probe_timeout_seconds=seconds,
    )
    ratios = []
    for run in range(1, runs + 1):
        started = time.perf_counter()
        result = await discover("guess.test", settings)
        elapsed = time.perf_counter() - started
        if result.incoming is None or result.outgoing is None:
            raise SystemExit(f"discovery failed: {result.to_json()}")
        probed = [row for row in result.candidates if row["outcome"] != "not probed"]
        silent = [row for row in result.candidates if row["outcome"] == "timeout"]
        print(
            f"run {run}: {elapsed:.2f} s = {elapsed / seconds:.2f} x timeout; "
            f"{len(result.candidates)} candidates, {len(probed)} probed or started, {len(silent)} timed out; "
            f"incoming {result.incoming.describe()}, outgoing {result.outgoing.describe()}"
        )
        ratios.append(elapsed / seconds)
    return ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=10.0, help="probe timeout in seconds (default 10)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="guidenest-bench-"))
    root.chmod(0o755)
    lab = start_lab(root)
    try:
        print(f"mail host {MAIL_HOST} (7 ports), silent host {SILENT_HOST}; probe timeout {args.timeout:g} s")
        ratios = asyncio.run(measure(args.timeout, args.runs, lab.ca_file))
        print(f"median {statistics.median(ratios):.2f} x one probe timeout (target about 1x)")
    finally:
        lab.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
