"""`guidenest run` before Discord is involved: the token check, the token kept out of every log line, and the
problems found before logging in (knowledge, database, health port), reported without contacting Discord.

Starting against Discord (rejected token, missing intent, signals) is in tests/e2e/test_run_*.py.
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import socket
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest
from pydantic import SecretStr

from bot.cli import main
from bot.cli.run import REDACTED, _token, hide_secret_in_logs
from bot.settings import Settings
from tests.e2e.guidenest_process import DATABASE, GuidenestProcess, assert_database_closed, bot_environment
from tests.storage.faults import FAULTS, companions, db_check, digest, make_database, make_faulty, write_lock_held

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator
    from pathlib import Path

    from tests.e2e.guidenest_process import Finished

SECRET = "MTk4NjIyNDgzNDcxOTI1MjQ4.Cl2FMQ.ZnCjm1XVW7vRze4b7Cq4se7kKWs"


def test_missing_token_exits_2_and_says_where_to_get_one(tmp_path: Path) -> None:
    env = {
        name: value for name, value in os.environ.items() if not name.startswith(("GUIDENEST_", "DISCORD_"))
    }
    finished = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        cwd=tmp_path,  # no .env here
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert finished.returncode == 2, finished.stderr
    assert "DISCORD_TOKEN is not set" in finished.stderr
    assert "Developer Portal → your application → Bot → Reset Token" in finished.stderr
    assert ".env.example" in finished.stderr
    assert "Traceback" not in finished.stderr
    assert finished.stdout == ""


@pytest.mark.parametrize("value", ["", "   ", '""', "''", "\n"])
def test_blank_token_counts_as_missing(
    value: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", value)
    assert main(["run"]) == 2
    assert "DISCORD_TOKEN is not set" in capsys.readouterr().err


def test_token_in_dotenv_is_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The autouse fixture put us in tmp_path; a .env there is what `guidenest run` reads.
    (tmp_path / ".env").write_text("DISCORD_TOKEN=\n", encoding="utf-8")
    assert main(["run"]) == 2
    assert "DISCORD_TOKEN is not set" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (SECRET, SECRET),
        (f"  {SECRET}\n", SECRET),
        (f'"{SECRET}"', SECRET),
        (f"Bot {SECRET}", SECRET),
        (f"bot  {SECRET}", SECRET),
    ],
)
def test_token_is_cleaned_of_common_paste_mistakes(raw: str, expected: str) -> None:
    settings = Settings(_env_file=None, discord_token=SecretStr(raw))  # type: ignore[call-arg]
    assert _token(settings) == expected


@pytest.fixture
def root_log() -> Iterator[io.StringIO]:
    """A handler on the root logger, as `logging.basicConfig` in the CLI sets up, removed afterwards."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    root = logging.getLogger()
    previous_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(previous_level)


def test_the_token_never_reaches_a_log_line(root_log: io.StringIO) -> None:
    hide_secret_in_logs(SECRET)
    logging.getLogger("discord.http").debug("sending Authorization: Bot %s", SECRET)
    logging.getLogger("bot.anything").info(f"token in the message itself: {SECRET}")  # noqa: G004 - the point
    logging.getLogger("bot.anything").warning("%s and %d", "no secret here", 3)
    text = root_log.getvalue()
    assert SECRET not in text
    assert text.splitlines() == [
        f"discord.http: sending Authorization: Bot {REDACTED}",
        f"bot.anything: token in the message itself: {REDACTED}",
        "bot.anything: no secret here and 3",
    ]


# --- problems found before logging in ------------------------------------------------------------------------


class UnwantedDiscord:
    """A listener where Discord would be, for starts that must fail before contacting it.

    It counts connections and drops them at once, so a bot that did log in first fails fast (exit 1, "cannot
    reach Discord") instead of waiting for an answer.
    """

    def __init__(self) -> None:
        self.connections = 0
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._drop, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _drop(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        del reader
        self.connections += 1
        writer.close()

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"


@pytest.fixture
async def unwanted_discord() -> AsyncIterator[UnwantedDiscord]:
    discord = UnwantedDiscord()
    await discord.start()
    yield discord
    await discord.stop()


async def _run(discord: UnwantedDiscord, tmp_path: Path, **settings: str) -> Finished:
    process = await GuidenestProcess.start(bot_environment(discord, tmp_path, SECRET, **settings), tmp_path)
    try:
        return await process.finish()
    finally:
        process.kill()


async def test_broken_knowledge_exits_2_listing_the_problem_before_contacting_discord(
    unwanted_discord: UnwantedDiscord, tmp_path: Path
) -> None:
    knowledge = tmp_path / "knowledge"
    (knowledge / "entries").mkdir(parents=True)
    (knowledge / "entries" / "broken.md").write_text("---\ntitle: [unclosed\n---\nbody\n", encoding="utf-8")
    finished = await _run(unwanted_discord, tmp_path, knowledge_dir=str(knowledge))

    assert finished.returncode == 2, finished.output
    assert f"the knowledge in {knowledge} has errors" in finished.stderr
    assert "broken.md" in finished.stderr
    assert "guidenest kb check" in finished.stderr
    assert "Traceback" not in finished.output
    assert unwanted_discord.connections == 0
    assert not (tmp_path / DATABASE).exists()  # checked first: nothing else was opened


async def test_unusable_database_exits_2_naming_the_setting_before_contacting_discord(
    unwanted_discord: UnwantedDiscord, tmp_path: Path
) -> None:
    (tmp_path / DATABASE).write_bytes(b"these are not the SQLite pages you are looking for\n" * 100)
    finished = await _run(unwanted_discord, tmp_path)

    assert finished.returncode == 2, finished.output
    assert "cannot use the database (GUIDENEST_DATABASE_PATH)" in finished.stderr
    assert "file is not a database" in finished.stderr
    assert "Traceback" not in finished.output
    assert SECRET not in finished.output
    assert unwanted_discord.connections == 0


async def test_a_database_server_that_does_not_answer_exits_1_so_that_it_is_tried_again(
    unwanted_discord: UnwantedDiscord, tmp_path: Path
) -> None:
    # Nothing listens on the port: a PostgreSQL that is down or restarting. Exit 1, not 2 (a setting to fix),
    # so that systemd's RestartPreventExitStatus=2 does not leave the shard down for good.
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    url = f"postgresql://guidenest:{SECRET}@127.0.0.1:{port}/guidenest"
    finished = await _run(unwanted_discord, tmp_path, database_url=url)

    assert finished.returncode == 1, finished.output
    assert "cannot use the database (GUIDENEST_DATABASE_URL)" in finished.stderr
    assert "worth trying again" in finished.stderr
    assert "Traceback" not in finished.output
    assert SECRET not in finished.output
    assert unwanted_discord.connections == 0


async def test_a_health_port_in_use_exits_2_naming_the_setting_before_contacting_discord(
    unwanted_discord: UnwantedDiscord, tmp_path: Path
) -> None:
    port = unwanted_discord.port  # certainly taken
    finished = await _run(unwanted_discord, tmp_path, health_port=str(port))

    assert finished.returncode == 2, finished.output
    assert f"health endpoint (GUIDENEST_HEALTH_PORT): cannot listen on 127.0.0.1:{port}" in finished.stderr
    assert "Traceback" not in finished.output
    assert unwanted_discord.connections == 0
    # The database was opened before the port was tried, and closed again on the way out.
    assert_database_closed(tmp_path / DATABASE)


# --- the start-up database check ------------------------------------------------------------------------


async def _run_under(prefix: list[str], discord: UnwantedDiscord, tmp_path: Path, wait: float = 60.0) -> Finished:
    """`guidenest run` under a command prefix (the read-only case runs it where permission bits hold)."""
    process = GuidenestProcess(
        await asyncio.create_subprocess_exec(
            *prefix,
            sys.executable,
            "-m",
            "bot",
            "run",
            env=bot_environment(discord, tmp_path, SECRET),
            cwd=tmp_path,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
    )
    try:
        await asyncio.wait_for(process.process.wait(), wait)
        return await process.finish()
    finally:
        process.kill()


@pytest.mark.parametrize("fault", FAULTS)
async def test_a_database_the_bot_cannot_use_is_refused_at_start_as_db_check_says(
    fault: str, unwanted_discord: UnwantedDiscord, tmp_path: Path
) -> None:
    """Read-only (folder writable, permission bits holding), damaged table pages, a newer schema, not SQLite."""
    database = tmp_path / DATABASE
    prefix = await make_faulty(database, fault)
    before = digest(database)

    finished = await _run_under(prefix, unwanted_discord, tmp_path)

    assert finished.returncode == 2, finished.output
    assert "Traceback" not in finished.output
    assert unwanted_discord.connections == 0
    assert digest(database) == before  # nothing migrated, repaired or replaced
    assert companions(database) == []
    # `guidenest db check` says the same, in the same words and with the same exit code.
    checked = db_check(database, prefix, tmp_path)
    assert checked.returncode == 2
    assert checked.stderr.startswith("guidenest: cannot use the database (GUIDENEST_DATABASE_PATH): ")
    assert checked.stderr.splitlines()[0] in finished.stderr.splitlines()


async def test_a_database_locked_past_the_busy_timeout_is_refused_at_start(
    unwanted_discord: UnwantedDiscord, tmp_path: Path
) -> None:
    database = tmp_path / DATABASE
    await make_database(database)
    with write_lock_held(database):
        finished = await _run_under([], unwanted_discord, tmp_path)

    assert finished.returncode == 2, finished.output
    assert (
        f"guidenest: cannot use the database (GUIDENEST_DATABASE_PATH): {database} stayed locked by another"
        " connection for 10 s (database is locked)"
    ) in finished.stderr
    assert "Traceback" not in finished.output
    assert unwanted_discord.connections == 0
