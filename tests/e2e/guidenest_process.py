"""`guidenest run` as a real process against the emulator: environment, start, signals, output, clean stop."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import sys
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import signal

    from tests.e2e.emulator import DiscordEmulator

REPO_ROOT = Path(__file__).resolve().parents[2]
# A start imports discord.py, indexes the knowledge and reads the fitted re-ranker from the cache: a few seconds on a
# busy machine. (Fitting it anew takes 10-15 s; `start` makes sure the cache holds it, see `_fitted_reranker_cached`.)
EXIT_TIMEOUT = 20.0
DATABASE = "guidenest.sqlite3"


@dataclass
class Finished:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


class DiscordEndpoints(Protocol):
    """Where the bot is told Discord is: the emulator, or a stand-in that must not be reached."""

    @property
    def api_base(self) -> str: ...

    @property
    def gateway_url(self) -> str: ...


def bot_environment(discord: DiscordEndpoints, tmp_path: Path, token: str, **settings: str) -> dict[str, str]:
    """The environment minus any Guide Nest setting, plus the Discord endpoints and `settings`."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("GUIDENEST_") and name != "DISCORD_TOKEN"
    }
    env.update(
        {
            "DISCORD_TOKEN": token,
            "GUIDENEST_DISCORD_API_BASE": discord.api_base,
            "GUIDENEST_DISCORD_GATEWAY_URL": discord.gateway_url,
            "GUIDENEST_DATABASE_PATH": str(tmp_path / DATABASE),
            "PYTHONUNBUFFERED": "1",
            # The checkout's `bot`, whether or not the package is installed.
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
        }
    )
    env.update({f"GUIDENEST_{name.upper()}": value for name, value in settings.items()})
    return env


def _fitted_reranker_cached(env: dict[str, str]) -> None:
    """Put the re-ranker the process will load in the cache it reads (a no-op when it is there already).

    These tests time how the bot starts and stops, not how long a first start fits the re-ranker; and the suite's
    other tests fill the cache (it keeps a few fits) with knowledge of their own, so the shipped fit may be gone."""
    from bot.knowledge.loader import check_knowledge
    from bot.matching.reranker import Reranker, cache_folder
    from bot.settings import DEFAULT_KNOWLEDGE_DIR

    folder = env.get("GUIDENEST_KNOWLEDGE_DIR")
    knowledge, _ = check_knowledge(Path(folder) if folder else DEFAULT_KNOWLEDGE_DIR)
    if knowledge is None:
        return  # knowledge the bot must refuse (a test of that): the process never gets to the re-ranker
    Reranker.train(knowledge, cache=cache_folder(env))  # where the process, with this environment, looks


def assert_database_closed(database: Path) -> None:
    """The last connection closed: the write-ahead log was folded back into the file, schema intact."""
    assert not database.with_name(database.name + "-wal").exists()
    with closing(sqlite3.connect(database)) as connection:
        assert connection.execute("PRAGMA user_version").fetchone()[0] >= 1


class GuidenestProcess:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        # Read both pipes from the start: a chatty bot (DEBUG logs) must never block on a full pipe.
        self._stdout = asyncio.create_task(self._drain(process.stdout))
        self._stderr = asyncio.create_task(self._drain(process.stderr))

    @staticmethod
    async def _drain(stream: asyncio.StreamReader | None) -> str:
        assert stream is not None
        return (await stream.read()).decode(errors="replace")

    @classmethod
    async def start(cls, env: dict[str, str], cwd: Path) -> GuidenestProcess:
        await asyncio.to_thread(_fitted_reranker_cached, env)
        # cwd: a folder without a .env, so only `env` configures the bot.
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            env=env,
            cwd=cwd,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        return cls(process)

    def send(self, signum: signal.Signals) -> None:
        self.process.send_signal(signum)

    async def finish(self) -> Finished:
        try:
            returncode = await asyncio.wait_for(self.process.wait(), EXIT_TIMEOUT)
        except TimeoutError:
            self.kill()
            await self.process.wait()
            output = await self._stdout + await self._stderr
            raise AssertionError(
                f"guidenest run did not exit within {EXIT_TIMEOUT:.0f}s; its output:\n{output}"
            ) from None
        return Finished(returncode, await self._stdout, await self._stderr)

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()


async def until_ready(
    emulator: DiscordEmulator, process: GuidenestProcess, *, sessions_before: int = 0, within: float = EXIT_TIMEOUT
) -> None:
    """Wait until the emulator has made a session ready beyond the `sessions_before` it had when `process`
    started (other processes' sessions), failing fast if the process died instead."""
    ready = emulator.gateway.ready
    waiting = asyncio.create_task(
        ready.wait_for(lambda _: len(ready) > sessions_before, timeout=within, what="the bot's gateway session")
    )
    exited = asyncio.create_task(process.process.wait())
    await asyncio.wait({waiting, exited}, return_when=asyncio.FIRST_COMPLETED)
    if not waiting.done():
        waiting.cancel()
        finished = await process.finish()
        raise AssertionError(f"guidenest run exited ({finished.returncode}) before connecting:\n{finished.output}")
    exited.cancel()
    if waiting.exception() is not None:
        # Still running but never connected: stop it, and show what it said.
        process.kill()
        finished = await process.finish()
        raise AssertionError(f"guidenest run did not connect within {within:.0f} s:\n{finished.output}")


def assert_stopped_cleanly(
    finished: Finished, emulator: DiscordEmulator, tmp_path: Path, signum: signal.Signals, token: str
) -> None:
    """What a signal must leave behind: exit 0, the gateway closed normally, the database closed."""
    assert finished.returncode == 0, finished.output
    assert f"{signum.name} received, shutting down" in finished.stderr
    assert "Traceback" not in finished.output
    assert token not in finished.output
    # The bot closed the gateway itself, normally (1000): Discord ends the session instead of keeping it open.
    closes = [frame.close_code for frame in emulator.gateway.frames if frame.direction == "close"]
    assert closes == [1000]
    assert not emulator.gateway.sessions
    assert_database_closed(tmp_path / DATABASE)
