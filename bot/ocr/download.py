"""The download guard: an attachment is fetched only from Discord's attachment hosts, within a byte cap and a
time budget, without following redirects.

Hosts are `GUIDENEST_DISCORD_CDN_HOSTS` entries: `host` (https on port 443) or `host:port` (https on that port).
Plain http is allowed for one case only, a listed `address:port` on a loopback address, so the tests can serve
attachments from the Discord emulator; nothing on a network is ever fetched without TLS.
"""

from __future__ import annotations

import asyncio
import ipaddress
from typing import TYPE_CHECKING

import aiohttp
import yarl

from bot.ocr import ImageRefused, Refusal
from bot.ocr.hosts import parse_host

if TYPE_CHECKING:
    from collections.abc import Collection

CHUNK_BYTES = 64 * 1024
_USER_AGENT = "GuideNestBot (screenshot reader)"


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str, allowed: Collection[str]) -> yarl.URL:
    """The URL, if it names an allowed host; ImageRefused otherwise."""
    try:
        parsed = yarl.URL(url)
        host = (parsed.host or "").lower().rstrip(".")
        port = parsed.port
    except (ValueError, TypeError):
        raise ImageRefused(Refusal.HOST_NOT_ALLOWED, "the attachment's address cannot be read") from None
    entries = {parse_host(entry) for entry in allowed}
    refused = ImageRefused(Refusal.HOST_NOT_ALLOWED, f"{host or 'an address'} is not one of Discord's attachment hosts")
    if parsed.user is not None or parsed.password is not None or not host:
        raise refused
    if parsed.scheme == "https":
        if (host, port) in entries or (port == 443 and (host, None) in entries):
            return parsed
    elif parsed.scheme == "http" and _loopback(host) and port is not None and (host, port) in entries:
        return parsed  # only an exact loopback address:port entry: a bare host never opens plain http
    raise refused


class AttachmentDownloader:
    """Fetches attachments through one connection pool; `close()` once."""

    def __init__(self, allowed_hosts: Collection[str], max_bytes: int) -> None:
        self.allowed_hosts = tuple(allowed_hosts)
        self.max_bytes = max_bytes
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            # No proxies from the environment, no automatic decompression (the byte cap counts what arrives).
            self._session = aiohttp.ClientSession(trust_env=False, auto_decompress=False)
        return self._session

    async def fetch(self, url: str, *, deadline: float) -> bytes:
        """The attachment's bytes by `deadline` (the event loop's clock). Raises ImageRefused."""
        checked = check_url(url, self.allowed_hosts)
        try:
            async with asyncio.timeout_at(deadline):
                response = await self._client().get(
                    checked,
                    allow_redirects=False,
                    headers={"User-Agent": _USER_AGENT, "Accept-Encoding": "identity"},
                )
                async with response:
                    if response.status != 200:
                        redirect = " (a redirect, not followed)" if 300 <= response.status < 400 else ""
                        raise ImageRefused(
                            Refusal.DOWNLOAD_FAILED, f"the host answered HTTP {response.status}{redirect}"
                        )
                    declared = response.content_length
                    if declared is not None and declared > self.max_bytes:
                        raise ImageRefused(
                            Refusal.TOO_LARGE, f"the image is {declared} bytes; the limit is {self.max_bytes}"
                        )
                    body = bytearray()
                    async for chunk in response.content.iter_chunked(CHUNK_BYTES):
                        body.extend(chunk)
                        if len(body) > self.max_bytes:
                            raise ImageRefused(
                                Refusal.TOO_LARGE, f"the image is larger than {self.max_bytes} bytes"
                            )
                    return bytes(body)
        except TimeoutError:
            raise ImageRefused(Refusal.TOO_SLOW, "the download did not finish within the time budget") from None
        except (aiohttp.ClientError, OSError) as exc:
            raise ImageRefused(Refusal.DOWNLOAD_FAILED, f"the download failed ({type(exc).__name__})") from None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
