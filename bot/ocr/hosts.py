"""Attachment host entries (`GUIDENEST_DISCORD_CDN_HOSTS`): read here without the network stack, so the settings
can check them for every command."""

from __future__ import annotations


def parse_host(entry: str) -> tuple[str, int | None]:
    """`host`, `host:port`, `[v6]:port` → (lower-case host, port or None); ValueError naming the entry."""
    text = entry.strip().lower()
    port: int | None = None
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest:
            if not rest.startswith(":"):
                raise ValueError(f"cannot read {entry!r}")
            port = _port(rest[1:], entry)
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
        port = _port(port_text, entry)
    else:
        host = text
    host = host.rstrip(".")
    if not host or any(char in host for char in "/?#@ "):
        raise ValueError(f"{entry!r} is not a host name")
    return host, port


def _port(text: str, entry: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise ValueError(f"{entry!r} has no valid port")
    return int(text)
