"""A real Redis 7 for the tests: Debian's redis-server, a throw-away directory, 127.0.0.1 on a free port.

`redis_server` is started once per session and emptied before each test that asks for `redis_url`; a test that
stops the server (the Redis-down tests) starts its own with `RedisServer` so that the others keep theirs.
Persistence is off: nothing is written to disk, and a restarted server starts empty, as a cache would after a
crash. .ci/test.sh installs the redis-server package.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.ports import free_port

if TYPE_CHECKING:
    from collections.abc import Iterator

REDIS_SERVER = os.environ.get("GUIDENEST_TEST_REDIS_SERVER", "/usr/bin/redis-server")
START_TIMEOUT = 20.0



def _answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="guidenest-redis-"))
        self.port = free_port()
        self.log = self.root / "server.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start on the same port as before (a restart keeps the URL the bot was given)."""
        with self.log.open("ab") as log:
            self._process = subprocess.Popen(
                [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.root),
                 "--save", "", "--appendonly", "no", "--protected-mode", "yes", "--loglevel", "warning"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )  # fmt: skip
        deadline = time.monotonic() + START_TIMEOUT
        while not _answers_ping(self.port):
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start:\n{self.log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.02)

    def stop(self) -> None:
        """Kill the server at once (SIGKILL: no goodbye to the clients, as in a crash or a cut network)."""
        process, self._process = self._process, None
        if process is not None:
            process.kill()
            process.wait(timeout=10)

    def flush(self) -> None:
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as connection:
            connection.sendall(b"FLUSHALL\r\n")
            assert connection.recv(64).startswith(b"+OK")

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def redis_available() -> bool:
    return Path(REDIS_SERVER).exists()


def require_redis() -> None:
    if not redis_available():
        if os.environ.get("CI"):
            pytest.fail(f"Redis is not installed ({REDIS_SERVER}); .ci/test.sh installs redis-server")
        pytest.skip(f"Redis is not installed ({REDIS_SERVER}): apt install redis-server")


@contextlib.contextmanager
def _started() -> Iterator[RedisServer]:
    require_redis()
    server = RedisServer()
    try:
        server.start()
        yield server
    finally:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            server.cleanup()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    with _started() as server:
        yield server


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The session's Redis, emptied: each test starts with no counters."""
    redis_server.flush()
    return redis_server.url


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A Redis of this test's own, which it may stop and start again."""
    with _started() as server:
        yield server
