"""`guidenest db upgrade`, `db check` on PostgreSQL and `db copy` from SQLite into PostgreSQL, each run as its own
process against a real SQLite file and a real PostgreSQL server."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from bot.storage import Storage
from bot.storage.migrations import SCHEMA_VERSION
from tests.storage.conftest import execute, fetch
from tests.storage.faults import REPO_ROOT
from tests.storage.legacy_schema import make_legacy_database

if TYPE_CHECKING:
    from pathlib import Path

    from tests.pg import PostgresServer


def guidenest(*args: str, cwd: Path, **settings: str) -> subprocess.CompletedProcess[str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("GUIDENEST_")}
    env.update(settings)
    env["PYTHONPATH"] = str(REPO_ROOT)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )


async def _filled_sqlite(path: Path) -> None:
    storage = await Storage.open(path)
    try:
        await storage.update_guild_config(1, confidence="strict", solved_tag="Solved")
        for channel in range(3):
            await storage.set_channel_enabled(1, 10 + channel, True)
        for number in range(40):
            await storage.record_answer(
                message_id=1000 + number, guild_id=1, channel_id=10, entry_id="imap-ports", query="q", suggestions=[]
            )
            await storage.record_vote(
                message_id=1000 + number, user_id=5, entry_id="imap-ports", helpful=True, guild_id=1
            )
        for number in range(2500):  # more than one copy batch
            await storage.record_miss(
                guild_id=1, channel_id=10, text=f"question {number}", reason="no_match", entry_id=None, score=0.5
            )
        await storage.record_probe(
            user_id=5, guild_id=1, action="probe", target="mail.example", address=None, outcome="ok", duration_ms=4
        )
        await storage.learn_phrasing(1, "imap-ports", "imap port please", 5)
    finally:
        await storage.close()


def test_db_upgrade_adopts_an_old_sqlite_file(tmp_path: Path) -> None:
    database = tmp_path / "old.sqlite3"
    make_legacy_database(database, 1)
    upgraded = guidenest("db", "upgrade", cwd=tmp_path, GUIDENEST_DATABASE_PATH=str(database))
    assert upgraded.returncode == 0, upgraded.stderr
    assert upgraded.stdout == f"OK: {database}: schema version 1 -> {SCHEMA_VERSION}\n"
    again = guidenest("db", "upgrade", cwd=tmp_path, GUIDENEST_DATABASE_URL=f"sqlite:///{database}")
    assert again.stdout == f"OK: {database}: schema version {SCHEMA_VERSION} (current), nothing to do\n"


async def test_db_check_and_upgrade_on_postgresql(tmp_path: Path, postgres_server: PostgresServer) -> None:
    url = postgres_server.create_database()
    checked = guidenest("db", "check", cwd=tmp_path, GUIDENEST_DATABASE_URL=url)
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.startswith(f"OK: {url}: schema version 0 (`guidenest run` migrates it to {SCHEMA_VERSION})")
    upgraded = guidenest("db", "upgrade", cwd=tmp_path, GUIDENEST_DATABASE_URL=url)
    assert upgraded.stdout == f"OK: {url}: schema version 0 -> {SCHEMA_VERSION}\n", upgraded.stderr
    checked = guidenest("db", "check", cwd=tmp_path, GUIDENEST_DATABASE_URL=url)
    assert f"schema version {SCHEMA_VERSION} (current)" in checked.stdout
    await execute(url, "UPDATE alembic_version SET version_num = 'f00d'")
    refused = guidenest("db", "check", cwd=tmp_path, GUIDENEST_DATABASE_URL=url)
    assert refused.returncode == 2
    assert refused.stderr == (
        f"guidenest: cannot use the database (GUIDENEST_DATABASE_URL): {url} has schema version f00d, newer than"
        " this Guide Nest understands (3); upgrade Guide Nest, or use another database file\n"
    )


def test_an_unreachable_server_is_refused_without_its_password(tmp_path: Path) -> None:
    refused = guidenest("db", "check", cwd=tmp_path, GUIDENEST_DATABASE_URL="postgresql://bot:hunter2@127.0.0.1:1/gn")
    assert refused.returncode == 2
    assert refused.stderr.startswith("guidenest: cannot use the database (GUIDENEST_DATABASE_URL): postgresql://bot:***@")
    assert "hunter2" not in refused.stderr


async def test_db_copy_moves_a_sqlite_database_into_postgresql(tmp_path: Path, postgres_server: PostgresServer) -> None:
    source = tmp_path / "guidenest.sqlite3"
    await _filled_sqlite(source)
    url = postgres_server.create_database()
    copied = guidenest("db", "copy", "--from", f"sqlite:///{source}", "--to", url, cwd=tmp_path)
    assert copied.returncode == 0, copied.stderr
    assert copied.stdout.splitlines() == [
        "guild_config: 1 rows ok",
        "enabled_channel: 3 rows ok",
        "answer: 40 rows ok",
        "vote: 40 rows ok",
        "miss: 2500 rows ok",
        "probe_audit: 1 rows ok",
        "learned_phrasing: 1 rows ok",
        "OK: 2586 rows copied, every count verified",
    ]
    # The same rows, not only as many.
    for table, order in [("miss", "id"), ("vote", "message_id, user_id"), ("guild_config", "guild_id")]:
        sql = f"SELECT * FROM {table} ORDER BY {order}"
        assert await fetch(url, sql) == await fetch(source, sql)

    storage = await Storage.open(url)
    try:
        assert (await storage.guild_config(1)).solved_tag == "Solved"
        # New rows get ids after the copied ones (the sequences were moved on).
        await storage.record_miss(
            guild_id=1, channel_id=10, text="after the move", reason="no_match", entry_id=None, score=None
        )
        assert (await storage.top_misses(1, limit=1))[0].latest_id == 2501
        await storage.learn_phrasing(1, "pop3-ports", "pop port please", 5)
    finally:
        await storage.close()

    # Into a database that already has rows: refused, nothing added.
    again = guidenest("db", "copy", "--from", str(source), "--to", url, cwd=tmp_path)
    assert again.returncode == 2
    assert "is not empty: guild_config (1)" in again.stderr
    assert await fetch(url, "SELECT COUNT(*) FROM miss") == [(2501,)]


@pytest.mark.parametrize("source_version", [1])
def test_db_copy_refuses_a_source_that_is_not_current(tmp_path: Path, source_version: int) -> None:
    source = tmp_path / "old.sqlite3"
    make_legacy_database(source, source_version)
    destination = f"sqlite:///{tmp_path / 'new.sqlite3'}"
    refused = guidenest("db", "copy", "--from", str(source), "--to", destination, cwd=tmp_path)
    assert refused.returncode == 2
    assert "run `guidenest db upgrade` on it first" in refused.stderr
