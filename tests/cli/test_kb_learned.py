"""`guidenest kb learned` as an operator runs it: the installed command, a real database the bot wrote, and the
export pasted into the entry files passing `guidenest kb check`."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
from contextlib import closing
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from bot.knowledge.loader import load_knowledge
from bot.storage import Storage
from tests.cli.terminal import GUIDENEST, clean_environment
from tests.knowledge.conftest import entry_text

if TYPE_CHECKING:
    from pathlib import Path

    from tests.knowledge.conftest import WriteKB

GUILD, OTHER_GUILD, THIRD_GUILD = 111, 222, 333
MODERATOR = 42
START = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(GUIDENEST), "kb", "learned", *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.fixture
def knowledge(write_kb: WriteKB) -> Path:
    return write_kb({"entries/gamma.md": entry_text(title="Gamma", ask="what is gamma", error="ERR_GAMMA")})


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "data" / "guidenest.sqlite3"


@pytest.fixture
def env(knowledge: Path, database: Path) -> dict[str, str]:
    return clean_environment(GUIDENEST_KNOWLEDGE_DIR=str(knowledge), GUIDENEST_DATABASE_PATH=str(database))


async def teach(database: Path, rows: list[tuple[int, str, str]]) -> None:
    """Phrasings stored as the bot stores them, a minute apart."""
    moments = iter(START + timedelta(minutes=n) for n in range(len(rows)))
    storage = await Storage.open(database, clock=lambda: next(moments))
    try:
        for guild_id, entry_id, text in rows:
            await storage.learn_phrasing(guild_id, entry_id, text, MODERATOR)
    finally:
        await storage.close()


ROWS = [
    (GUILD, "alpha", "how do I get alpha working again"),
    (GUILD, "beta", "beta: it says #1 error"),  # YAML must quote this one
    (OTHER_GUILD, "gamma", "How do I get alpha working again?"),  # the same question, elsewhere
    (THIRD_GUILD, "alpha", "how do i get ALPHA working again"),  # … and again: alpha has two servers
    (OTHER_GUILD, "alpha", "What is beta"),  # beta's own ask in knowledge/: nothing to add
    (OTHER_GUILD, "gone-entry", "where did the old answer go"),  # an entry removed since
]


def test_lists_every_servers_phrasings_latest_first_or_one_servers(env, database) -> None:
    asyncio.run(teach(database, ROWS))
    listed = run(env)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert len(lines) == len(ROWS)
    assert lines[0] == (
        f"2024-05-01 09:35 UTC  guild {OTHER_GUILD}  gone-entry  by {MODERATOR}: where did the old answer go"
    )
    assert lines[-1] == (
        f"2024-05-01 09:30 UTC  guild {GUILD}  alpha  by {MODERATOR}: how do I get alpha working again"
    )
    one = run(env, "--guild", str(GUILD))
    assert one.returncode == 0
    assert [line.split("  ")[2] for line in one.stdout.splitlines()] == ["beta", "alpha"]
    assert run(env, "--guild", "999").stdout == "No learned phrasings.\n"


def test_export_pasted_into_the_entries_passes_kb_check(env, database, knowledge: Path) -> None:
    asyncio.run(teach(database, ROWS))
    exported = run(env, "--export")
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout == (
        "# knowledge/entries/alpha.md: add under asks:\n"
        "  - how do I get alpha working again\n"
        "\n"
        "# knowledge/entries/beta.md: add under asks:\n"
        "  - 'beta: it says #1 error'\n"
        "\n"
    )
    notes = exported.stderr
    assert "'how do I get alpha working again' is listed under alpha (2 server(s)); also taught to gamma (1)" in notes
    assert "'What is beta' is already in beta.md, though a server taught it elsewhere" in notes
    assert "no longer in the knowledge base (gone-entry)" in notes

    # Pasted as printed, under each file's `asks:`: the knowledge base takes them, and `kb check` passes.
    blocks = [block for block in exported.stdout.split("\n\n") if block.strip()]
    for block in blocks:
        header, *items = block.splitlines()
        path = knowledge.parent / header.removeprefix("# ").removesuffix(": add under asks:")
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("asks:\n", "asks:\n" + "".join(f"{item}\n" for item in items), 1), "utf-8")
    checked = subprocess.run(
        [str(GUIDENEST), "kb", "check"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert checked.returncode == 0, checked.stderr
    folded = load_knowledge(knowledge)
    assert "how do I get alpha working again" in folded.entries["alpha"].asks
    assert "beta: it says #1 error" in folded.entries["beta"].asks
    # Folded in, they are nothing to add any more.
    again = run(env, "--export")
    assert again.stdout.startswith("# Nothing to add")


def test_a_database_not_created_yet_has_none_and_stays_uncreated(env, database) -> None:
    done = run(env)
    assert done.returncode == 0
    assert done.stdout == f"No learned phrasings: {database} does not exist yet.\n"
    assert not database.exists()


def test_an_older_schema_has_none_and_is_not_migrated(env, database) -> None:
    async def create_at_version_2() -> None:
        storage = await Storage.open(database, version=2)
        await storage.close()

    asyncio.run(create_at_version_2())
    done = run(env, "--export")
    assert done.returncode == 0
    assert done.stdout.startswith("# Nothing to add")
    with closing(sqlite3.connect(database)) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (2,)  # the bot migrates it, not this command


def test_an_unusable_database_is_refused_as_run_refuses_it(env, database) -> None:
    database.parent.mkdir(parents=True)
    database.write_bytes(b"this is not a database" * 100)
    done = run(env)
    assert done.returncode == 2
    assert done.stderr.startswith("guidenest: cannot use the database (GUIDENEST_DATABASE_PATH): ")
    assert "not a SQLite database" in done.stderr


def test_it_reads_storage_settings_and_kb_check_still_does_not(env) -> None:
    bad_storage = {**env, "GUIDENEST_MISS_RETENTION_DAYS": "0"}
    refused = run(bad_storage)
    assert refused.returncode == 2
    assert "GUIDENEST_MISS_RETENTION_DAYS" in refused.stderr
    checked = subprocess.run(
        [str(GUIDENEST), "kb", "check"], env=bad_storage, capture_output=True, text=True, timeout=60, check=False
    )
    assert checked.returncode == 0, checked.stderr
    # A setting it does not read (the probe's) does not stop it.
    assert run({**env, "GUIDENEST_PROBE_TIMEOUT_SECONDS": "ten"}).returncode == 0
