"""A free TCP port on 127.0.0.1 for a server a test starts (PostgreSQL, Redis, the bot's health endpoint)."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A port nothing listens on now; the operating system hands out another one next time."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
