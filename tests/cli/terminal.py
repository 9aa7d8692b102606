"""Run the installed `guidenest` as a user does: in a real pseudo-terminal of a given size, or into a pipe."""

from __future__ import annotations

import fcntl
import os
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

GUIDENEST = Path(sys.executable).parent / "guidenest"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
OSC8 = re.compile(r"\x1b\]8;[^\x1b]*\x1b\\")
# A foreground colour in any colour system: 30-37, 90-97, 38;5;N or 38;2;R;G;B, alone or after other attributes.
COLOUR_CODE = re.compile(r"\x1b\[(?:[0-9;]*;)?(?:3[0-7]|9[0-7]|38;[25];[0-9;]+)(?:;[0-9;]*)?m")
# What a test's machine may set that changes colour or width: each test says what it wants instead.
_TERMINAL_VARIABLES = {"NO_COLOR", "FORCE_COLOR", "COLUMNS", "LINES", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "TERM"}


def clean_environment(**values: str) -> dict[str, str]:
    """The environment without the machine's guidenest settings or terminal overrides, plus `values`."""
    kept = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("GUIDENEST_") and name != "DISCORD_TOKEN" and name not in _TERMINAL_VARIABLES
    }
    return {**kept, "TERM": "xterm-256color", **values}


def run_in_terminal(*args: str, env: dict[str, str], columns: int = 80, timeout: float = 60) -> str:
    """Standard output of `guidenest ARGS` in a pseudo-terminal `columns` wide (stderr, where live progress goes,
    is left out). Line ends come back as the program wrote them."""
    leader, follower = os.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    try:
        process = subprocess.Popen(
            [str(GUIDENEST), *args], stdin=follower, stdout=follower, stderr=subprocess.DEVNULL, env=env
        )
    finally:
        os.close(follower)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            ready, _, _ = select.select([leader], [], [], max(deadline - time.monotonic(), 0))
            if not ready:
                process.kill()
                raise TimeoutError(f"guidenest {' '.join(args)} did not finish in {timeout} s")
            try:
                data = os.read(leader, 65536)
            except OSError:  # EIO: the program ended and the terminal closed
                break
            if not data:
                break
            chunks.append(data)
        assert process.wait(timeout=10) in {0, 1}
    finally:
        os.close(leader)
    # The terminal turns each "\n" into "\r\n".
    return b"".join(chunks).decode().replace("\r\n", "\n")


def run_piped(*args: str, env: dict[str, str]) -> str:
    done = subprocess.run([str(GUIDENEST), *args], capture_output=True, text=True, env=env, timeout=60, check=False)
    assert done.returncode in {0, 1}, done.stderr
    return done.stdout


def visible(text: str) -> str:
    """What a reader sees: the text without colour, style and hyperlink codes."""
    return ANSI.sub("", OSC8.sub("", text))
