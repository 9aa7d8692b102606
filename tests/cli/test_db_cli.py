"""`guidenest db check`: the start-up check by hand, on real SQLite files (exit 0 usable, 2 refused).

That `guidenest run` refuses the same files in the same words is in test_run_cli.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from bot.cli import main
from bot.storage import Storage
from bot.storage.migrations import SCHEMA_VERSION
from tests.storage.faults import FAULTS, companions, db_check, digest, make_database, make_faulty, write_lock_held

if TYPE_CHECKING:
    from pathlib import Path

REFUSED = "guidenest: cannot use the database (GUIDENEST_DATABASE_PATH): "


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "guidenest.sqlite3"
    monkeypatch.setenv("GUIDENEST_DATABASE_PATH", str(path))
    return path


def test_db_without_an_action_prints_its_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db"]) == 0
    out = capsys.readouterr().out
    assert "usage: guidenest db" in out
    assert "check" in out


def test_a_database_not_created_yet_is_fine(database: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "check"]) == 0
    assert capsys.readouterr().out == f"OK: {database} does not exist yet; `guidenest run` creates it\n"
    assert not database.exists()


async def test_the_bots_database_is_fine(database: Path, capsys: pytest.CaptureFixture[str]) -> None:
    await make_database(database)
    before = digest(database)
    assert main(["db", "check"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"OK: {database}: schema version {SCHEMA_VERSION} (current), ")
    assert "journal mode wal, quick_check ok, writable" in out
    assert digest(database) == before


async def test_an_older_schema_is_fine_and_says_run_migrates_it(
    database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = await Storage.open(database, version=1)
    await old.close()
    assert main(["db", "check"]) == 0
    assert f"schema version 1 (`guidenest run` migrates it to {SCHEMA_VERSION})" in capsys.readouterr().out


async def test_a_lock_held_past_the_timeout_exits_2(
    database: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    await make_database(database)
    monkeypatch.setattr("bot.storage.check.BUSY_TIMEOUT_SECONDS", 0.3)  # the real 10 s is tested through run
    with write_lock_held(database):
        assert main(["db", "check"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"{REFUSED}{database} stayed locked by another connection for 0.3 s (database is locked); stop the"
        " other program using it (another `guidenest run`?), or wait until it finishes, then start again\n"
    )


@pytest.mark.parametrize("fault", FAULTS)
async def test_a_database_the_bot_cannot_use_exits_2_in_one_line_and_is_left_alone(fault: str, tmp_path: Path) -> None:
    database = tmp_path / "guidenest.sqlite3"
    prefix = await make_faulty(database, fault)
    before = digest(database)

    finished = db_check(database, prefix, tmp_path)

    assert finished.returncode == 2, finished.stderr
    assert finished.stdout == ""
    assert finished.stderr.startswith(f"{REFUSED}{database} ")
    assert finished.stderr.count("\n") == 1  # one line, no traceback
    assert digest(database) == before
    assert companions(database) == []  # not even a -wal or -shm file beside it
