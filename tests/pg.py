"""A real PostgreSQL 15 for the tests: Debian's binaries, a throw-away data directory, 127.0.0.1 on a free port.

Started once per session (initdb takes a second or two); each test gets its own database, created from
template1, which costs a few milliseconds. initdb and postgres refuse to run as root, so as root the server runs
as the system user `guidenest-test` (created if missing). .ci/test.sh installs the postgresql-15 package.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.ports import free_port

if TYPE_CHECKING:
    from collections.abc import Iterator

PG_BIN = Path(os.environ.get("GUIDENEST_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
SERVER_USER = "guidenest-test"
SUPERUSER = "postgres"



def _server_user() -> list[str]:
    """The prefix that runs a server command as a non-root user (nothing when we are not root)."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam(SERVER_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin",
             SERVER_USER],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
    return ["runuser", "-u", SERVER_USER, "--"]


class PostgresServer:
    def __init__(self) -> None:
        self.prefix = _server_user()
        self.root = Path(tempfile.mkdtemp(prefix="guidenest-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = free_port()
        self._names = itertools.count(1)
        if self.prefix:
            entry = pwd.getpwnam(SERVER_USER)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)

    def _server(self, *args: str, timeout: float = 120) -> None:
        completed = subprocess.run(
            [*self.prefix, *args], capture_output=True, text=True, timeout=timeout, check=False
        )
        if completed.returncode != 0:
            log = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
            raise RuntimeError(f"{args[0]} failed ({completed.returncode}): {completed.stderr}\n{log}")

    def init(self) -> None:
        self._server(
            str(PG_BIN / "initdb"), "-D", str(self.data), "-U", SUPERUSER, "--auth=trust", "--encoding=UTF8",
            "--no-sync", "--no-instructions",
        )  # fmt: skip

    def _options(self) -> str:
        # fsync off: the tests never outlive an operating system crash, and a killed server still recovers
        # every commit from the write-ahead log in the page cache.
        return (
            f"-c port={self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.root}"
            " -c fsync=off -c full_page_writes=off -c max_connections=200"
        )

    def start(self) -> None:
        self._server(
            str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
            "-o", self._options(), "start",
        )  # fmt: skip

    def restart(self, mode: str = "immediate") -> None:
        """Stop the server (`immediate`: as if it crashed, no shutdown checkpoint) and start it again."""
        self._server(
            str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "-m", mode,
            "-o", self._options(), "restart",
        )  # fmt: skip

    def stop(self) -> None:
        self._server(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-w", "-m", "immediate", "stop")

    def psql(self, sql: str, database: str = "postgres") -> str:
        completed = subprocess.run(
            [str(PG_BIN / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", SUPERUSER, "-d", database,
             "-v", "ON_ERROR_STOP=1", "-qAtc", sql],
            capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        return completed.stdout

    def url(self, database: str) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new, empty database; its postgresql:// URL."""
        name = f"test_{next(self._names)}"
        self.psql(f"CREATE DATABASE {name} TEMPLATE template1")
        return self.url(name)

    def cleanup(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def postgres_available() -> bool:
    return (PG_BIN / "initdb").exists() and (PG_BIN / "pg_ctl").exists()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    if not postgres_available():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL 15 is not installed ({PG_BIN}); .ci/test.sh installs postgresql-15")
        pytest.skip(f"PostgreSQL 15 is not installed ({PG_BIN}): apt install postgresql-15")
    server = PostgresServer()
    try:
        server.init()
        server.start()
        yield server
    finally:
        with contextlib.suppress(RuntimeError, subprocess.SubprocessError):
            server.stop()
        server.cleanup()
