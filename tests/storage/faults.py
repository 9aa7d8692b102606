"""Real database files with the faults the start-up check must refuse; shared by the storage and CLI tests."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from bot.storage import Storage
from bot.storage.migrations import SCHEMA_VERSION

if TYPE_CHECKING:
    from collections.abc import Iterator

REPO_ROOT = Path(__file__).resolve().parents[2]
FAULTS = ("read-only", "damaged", "newer schema", "not a database")


async def make_database(path: Path, misses: int = 300) -> None:
    """A database as the bot leaves it: current schema, enough misses that the table spans many pages."""
    storage = await Storage.open(path)
    try:
        for number in range(misses):
            await storage.record_miss(
                guild_id=1,
                channel_id=2,
                text=f"thunderbird keeps asking for my password, attempt {number} " * 4,
                reason="no_match",
                entry_id=None,
                score=None,
            )
    finally:
        await storage.close()  # the last close folds the write-ahead log into the file


def damage_table_pages(path: Path, table: str = "miss") -> None:
    """Overwrite the table's root page with junk, as a bad disk block would; page 1 (the schema) stays intact,
    so the file still opens and reports its schema version."""
    with closing(sqlite3.connect(path)) as connection:
        (page_size,) = connection.execute("PRAGMA page_size").fetchone()
        (root_page,) = connection.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()
    assert root_page > 1
    with path.open("r+b") as file:
        file.seek((root_page - 1) * page_size)
        file.write(b"\xa5" * page_size)


def set_schema_version(path: Path, version: int) -> None:
    with closing(sqlite3.connect(path, isolation_level=None)) as connection:
        connection.execute(f"PRAGMA user_version = {int(version)}")


def newer_schema_version() -> int:
    return SCHEMA_VERSION + 1


@contextmanager
def write_lock_held(path: Path) -> Iterator[None]:
    """Another connection holding the write lock (an open write transaction) until the block ends."""
    with closing(sqlite3.connect(path, isolation_level=None)) as connection:
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            connection.execute("ROLLBACK")


def write_junk(path: Path) -> None:
    path.write_bytes(b"these are not the SQLite pages you are looking for\n" * 100)


def file_size(path: Path) -> int:
    return path.stat().st_size


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def companions(path: Path) -> list[str]:
    """The journal files SQLite leaves beside a database while (or after) it has it open."""
    return sorted(path.name + suffix for suffix in ("-wal", "-shm", "-journal") if Path(f"{path}{suffix}").exists())


def unprivileged_prefix() -> list[str]:
    """A command prefix under which file permission bits hold, as they do for the bot's own non-root user.

    Nothing for a normal user. Root ignores permission bits through the CAP_DAC_OVERRIDE capability: setpriv
    removes it (and its relatives) from the bounding set, so the command runs as uid 0 that must obey the bits.
    """
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: a read-only file would still be writable")
    return [setpriv, "--bounding-set", "-dac_override,-dac_read_search,-fowner", "--"]


def make_read_only(path: Path) -> list[str]:
    """Make the file read-only (its folder stays writable); returns the prefix under which that holds.

    Checked before use: the prefixed process really cannot open the file for writing.
    """
    path.chmod(0o444)
    prefix = unprivileged_prefix()
    probe = subprocess.run(
        [*prefix, sys.executable, "-c", "import sys; open(sys.argv[1], 'r+b')", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if probe.returncode == 0:
        pytest.skip("this machine lets the test process write a read-only file anyway")
    assert "Permission denied" in probe.stderr, probe.stderr
    return prefix


async def make_faulty(path: Path, fault: str) -> list[str]:
    """A database with `fault` (one of FAULTS); returns the command prefix the fault needs (read-only only)."""
    if fault == "not a database":
        write_junk(path)
        return []
    await make_database(path)
    if fault == "damaged":
        damage_table_pages(path)
    elif fault == "newer schema":
        set_schema_version(path, newer_schema_version())
    elif fault == "read-only":
        return make_read_only(path)
    else:
        raise ValueError(fault)
    return []


def cli_environment(database: Path) -> dict[str, str]:
    """The environment minus any Guide Nest setting, plus the database path and the checkout on the path."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("GUIDENEST_") and name != "DISCORD_TOKEN"
    }
    env["GUIDENEST_DATABASE_PATH"] = str(database)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
    return env


def db_check(database: Path, prefix: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """`guidenest db check` as its own process (under `prefix`, for the read-only case)."""
    return subprocess.run(
        [*prefix, sys.executable, "-m", "bot", "db", "check"],
        cwd=cwd,
        env=cli_environment(database),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
