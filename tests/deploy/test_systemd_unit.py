"""deploy/guidenest@.service, checked by systemd's own parser (`systemd-analyze verify`) in a stand-in tree.

The tree under --root holds the unit, as an instance, and what verify looks for: the program ExecStart runs
and the targets the unit is ordered after, as empty stand-ins. Nothing of the machine's own systemd is read, so
the check is the same with or without systemd running (containers have none).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import load_settings

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = REPO_ROOT / "deploy" / "guidenest@.service"
SHARDS = "0-3"
INSTANCE = f"guidenest@{SHARDS}.service"
STARTED_PROGRAM = "/usr/bin/env"  # ExecStart's first word, which verify requires to be executable
BOT_PROGRAM = "/opt/guidenest/venv/bin/guidenest"  # where the README installs the bot
# A service's default dependencies, and the targets the unit names.
STAND_IN_UNITS = ("sysinit.target", "basic.target", "shutdown.target", "network-online.target", "multi-user.target")


def _systemd_analyze() -> str:
    found = shutil.which("systemd-analyze") or "/usr/bin/systemd-analyze"
    if not Path(found).exists():
        if os.environ.get("CI"):
            pytest.fail("systemd-analyze is not installed; .ci/test.sh installs the systemd package")
        pytest.skip("systemd-analyze is not installed: apt install systemd")
    return found


def verify(unit_text: str, root: Path) -> subprocess.CompletedProcess[str]:
    """`systemd-analyze verify` of the unit as instance INSTANCE, in a stand-in tree at `root`."""
    units = root / "etc" / "systemd" / "system"
    units.mkdir(parents=True)
    (units / INSTANCE).write_text(unit_text)
    vendor_units = root / "usr" / "lib" / "systemd" / "system"
    vendor_units.mkdir(parents=True)
    for name in STAND_IN_UNITS:
        (vendor_units / name).write_text("[Unit]\nDescription=stand-in\n")
    stand_in = root / STARTED_PROGRAM.lstrip("/")
    stand_in.parent.mkdir(parents=True)
    stand_in.write_text("#!/bin/sh\n")
    stand_in.chmod(0o755)
    return subprocess.run(
        [_systemd_analyze(), "verify", "--man=no", f"--root={root}", INSTANCE],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        # Warnings only: a debug level set on this machine must not read as a finding.
        env={**os.environ, "SYSTEMD_LOG_LEVEL": "warning"},
    )


def unit_setting(unit_text: str, section: str, key: str) -> str:
    """The value of `key` in `section` (the last one, as systemd reads a setting given twice)."""
    current, value = "", None
    for line in map(str.strip, unit_text.splitlines()):
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1]
        elif current == section and line.startswith(f"{key}="):
            value = line.partition("=")[2]
    if value is None:
        raise AssertionError(f"{key}= is not set in [{section}]")
    return value


def test_the_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    result = verify(TEMPLATE.read_text(), tmp_path)
    # systemd only warns about an unknown key or a bad value, and still exits 0: any output is a finding.
    assert (result.returncode, result.stderr, result.stdout) == (0, "", "")


@pytest.mark.parametrize(
    ("line", "broken", "reported"),
    [
        ("Restart=on-failure", "Restart=sometimes", "Failed to parse service restart specifier"),
        ("NoNewPrivileges=yes", "NoNewPrivilege=yes", "Unknown key 'NoNewPrivilege'"),
        ("RestartSec=30", "RestartSec=thirty", "Failed to parse"),
        ("ExecStart=/usr/bin/env ", "ExecStart=/usr/bin/envv ", "is not executable"),
    ],
    ids=["bad Restart value", "unknown directive", "bad RestartSec", "no such program"],
)
def test_a_mistake_in_the_unit_is_reported(tmp_path: Path, line: str, broken: str, reported: str) -> None:
    template = TEMPLATE.read_text()
    assert line in template
    result = verify(template.replace(line, broken), tmp_path)
    assert result.returncode != 0 or result.stderr
    assert reported in result.stderr


def test_the_instance_name_is_the_shard_range_even_with_another_in_the_environment_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    command = shlex.split(unit_setting(TEMPLATE.read_text(), "Service", "ExecStart").replace("%i", SHARDS))
    assert command[0] == STARTED_PROGRAM
    assignments = command[1 : command.index(BOT_PROGRAM)]
    assert command[len(assignments) + 1 :] == [BOT_PROGRAM, "run"]
    # What the program gets when the environment file (loaded by systemd before ExecStart) names other shards.
    shown = subprocess.run(
        [*command[: len(assignments) + 1], sys.executable, "-c", "import os; print(os.environ['GUIDENEST_SHARD_IDS'])"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
        env={**os.environ, "GUIDENEST_SHARD_IDS": "4-7"},
    ).stdout.strip()
    assert shown == SHARDS
    # ...which the bot reads as those shards.
    for name in [name for name in os.environ if name.startswith("GUIDENEST_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no .env
    monkeypatch.setenv("GUIDENEST_SHARD_COUNT", "4")
    monkeypatch.setenv("GUIDENEST_SHARD_IDS", shown)
    assert load_settings().shard_ids == [0, 1, 2, 3]
