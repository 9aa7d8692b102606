"""The provider's own autoconfig file (Thunderbird's format), fetched with aiohttp under the probe's rules.

Both hosts are resolved with dnspython and checked like any probe target; aiohttp is handed only those checked
addresses (a pinned resolver), may use ports 443 and 80 only, follows no redirect and reads a capped body. With
the discovery's RequestTargets, a host or address at its hourly probe cap is not contacted.
"""

from __future__ import annotations

import asyncio
import re
import socket
import ssl
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from bot.probe.addresses import DnsLookupError, IPAddress, resolve_checked
from bot.probe.errors import ProbeRefused
from bot.probe.model import MailProtocol, Security
from bot.probe.target import normalize_host

if TYPE_CHECKING:
    from pathlib import Path

    from bot.probe.guard import RequestTargets
    from bot.settings import Settings

_SOCKET_TYPES = {"SSL": Security.SSL, "STARTTLS": Security.STARTTLS, "PLAIN": Security.PLAIN}
_SERVER_TYPES = {"imap": MailProtocol.IMAP, "pop3": MailProtocol.POP3, "smtp": MailProtocol.SMTP}
_USER_AGENT = "GuideNest-mail-settings-check/1"
# A host the probe refuses by its name alone (`localhost`, an odd IP form) but plain enough to show in a reply.
_SHOWABLE_HOST = re.compile(r"^[a-z0-9.:\[\]-]{1,255}$")


@dataclass(frozen=True)
class DeclaredServer:
    """A server a provider publishes (autoconfig file or SRV record)."""

    direction: str  # "incoming" or "outgoing"
    protocol: MailProtocol
    host: str
    port: int
    security: Security
    source: str

    def to_json(self) -> dict[str, Any]:
        return {
            "direction": self.direction,
            "protocol": self.protocol.value,
            "host": self.host,
            "port": self.port,
            "security": self.security.value,
            "source": self.source,
        }


@dataclass
class AutoconfigResult:
    url: str | None = None
    servers: list[DeclaredServer] = field(default_factory=list)
    # Every URL tried, with what happened ("ok", "HTTP 404", "redirect not followed", "refused: ...").
    attempts: list[tuple[str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "servers": [server.to_json() for server in self.servers],
            "attempts": [{"url": url, "outcome": outcome} for url, outcome in self.attempts],
        }


def autoconfig_urls(domain: str) -> list[str]:
    """Thunderbird's order: the autoconfig host, then the domain's .well-known path; HTTPS before HTTP."""
    paths = [
        f"autoconfig.{domain}/mail/config-v1.1.xml",
        f"{domain}/.well-known/autoconfig/mail/config-v1.1.xml",
    ]
    return [f"{scheme}://{path}" for scheme in ("https", "http") for path in paths]


def parse_autoconfig(body: bytes, domain: str, source: str) -> list[DeclaredServer]:
    """The servers of a `clientConfig` document in the provider's order; ValueError for a bad document."""
    upper = body.upper()
    if b"<!DOCTYPE" in upper or b"<!ENTITY" in upper:
        # No DTD means no entity expansion: the stdlib parser is then safe on untrusted input.
        raise ValueError("the document declares a DTD, which is not accepted")
    try:
        root = ET.fromstring(body)  # noqa: S314 - DTDs refused above and the body is size-capped
    except ET.ParseError as exc:
        raise ValueError(f"not well-formed XML ({exc})") from None
    if root.tag != "clientConfig":
        raise ValueError("not a clientConfig document")
    servers: list[DeclaredServer] = []
    for provider in root.iter("emailProvider"):
        for element in provider:
            if element.tag not in {"incomingServer", "outgoingServer"}:
                continue
            protocol = _SERVER_TYPES.get((element.get("type") or "").lower())
            host_text = (element.findtext("hostname") or "").strip().replace("%EMAILDOMAIN%", domain)
            port_text = (element.findtext("port") or "").strip()
            security = _SOCKET_TYPES.get((element.findtext("socketType") or "").strip().upper())
            if protocol is None or security is None or not port_text.isdigit() or "%" in host_text:
                continue
            try:
                host, _ = normalize_host(host_text)
            except ProbeRefused:
                # Kept, so that the discovery refuses it aloud (the next server is used instead); junk is skipped.
                if not _SHOWABLE_HOST.match(host_text.lower()):
                    continue
                host = host_text.lower()
            direction = "outgoing" if element.tag == "outgoingServer" else "incoming"
            if (direction == "outgoing") != (protocol is MailProtocol.SMTP):
                continue
            servers.append(DeclaredServer(direction, protocol, host, int(port_text), security, source))
    if not servers:
        raise ValueError("the document lists no usable server")
    return servers


class _PinnedResolver(AbstractResolver):
    """Hands aiohttp the addresses we resolved and checked, and nothing else."""

    def __init__(self, pinned: dict[str, list[IPAddress]]) -> None:
        self._pinned = pinned

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if port not in (80, 443):
            raise OSError(f"port {port} is not allowed for autoconfig")
        addresses = self._pinned.get(host.lower().rstrip("."))
        if not addresses:
            raise OSError(f"{host} was not checked")
        return [
            ResolveResult(
                hostname=host,
                host=str(address),
                port=port,
                family=socket.AF_INET if address.version == 4 else socket.AF_INET6,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for address in sorted(addresses, key=lambda item: item.version)
        ]

    async def close(self) -> None:
        return None


@lru_cache(maxsize=4)
def _https_context(ca_file: Path | None) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if ca_file is not None:
        context.load_verify_locations(cafile=str(ca_file))
    return context


async def _read_capped(response: aiohttp.ClientResponse, cap: int) -> bytes:
    body = bytearray()
    async for chunk in response.content.iter_chunked(4096):
        body.extend(chunk)
        if len(body) > cap:
            raise ValueError(f"the file is larger than {cap} bytes")
    return bytes(body)


async def _fetch_one(
    session: aiohttp.ClientSession, url: str, domain: str, cap: int, seconds: float
) -> list[DeclaredServer] | str:
    """The servers on success, or a short outcome text."""
    try:
        async with session.get(
            url,
            allow_redirects=False,
            timeout=aiohttp.ClientTimeout(total=max(0.1, seconds)),
            headers={"User-Agent": _USER_AGENT, "Accept-Encoding": "identity"},
        ) as response:
            if 300 <= response.status < 400:
                return f"HTTP {response.status} redirect (not followed)"
            if response.status != 200:
                return f"HTTP {response.status}"
            declared = response.headers.get("Content-Length")
            if declared is not None and declared.isdigit() and int(declared) > cap:
                return f"the file is larger than {cap} bytes"
            body = await _read_capped(response, cap)
    except TimeoutError:
        return "no answer in time"
    except aiohttp.ClientConnectorCertificateError as exc:
        return f"certificate not trusted ({exc.certificate_error})"
    except aiohttp.ClientConnectorError as exc:
        return f"connection failed ({exc.os_error.strerror or exc.os_error})"
    except (aiohttp.ClientError, ValueError, OSError) as exc:
        return f"failed ({exc})"
    try:
        return parse_autoconfig(body, domain, url)
    except ValueError as exc:
        return f"not a usable autoconfig file: {exc}"


async def fetch_autoconfig(
    domain: str, settings: Settings, *, deadline: float, targets: RequestTargets | None = None
) -> AutoconfigResult:
    loop = asyncio.get_running_loop()
    hosts = [f"autoconfig.{domain}", domain]
    outcomes: dict[str, list[IPAddress] | str] = {}

    async def check(host: str) -> None:
        try:
            addresses = await resolve_checked(host, settings, lifetime=deadline - loop.time())
        except (ProbeRefused, DnsLookupError) as exc:
            outcomes[host] = f"refused: {exc}" if isinstance(exc, ProbeRefused) else f"DNS: {exc}"
            return
        if targets is not None:
            try:
                await targets.take([host, *(str(address) for address in addresses)])
            except ProbeRefused as exc:
                outcomes[host] = f"not fetched: {exc.reason}"
                return
        outcomes[host] = addresses

    try:
        async with asyncio.timeout_at(deadline):
            await asyncio.gather(*(check(host) for host in hosts))
    except TimeoutError:
        pass
    pinned = {host: value for host, value in outcomes.items() if isinstance(value, list)}
    result = AutoconfigResult()
    urls = autoconfig_urls(domain)
    fetchable = [url for url in urls if url.split("/")[2] in pinned]
    found: dict[str, list[DeclaredServer] | str] = {}
    if fetchable:
        connector = aiohttp.TCPConnector(
            resolver=_PinnedResolver(pinned),
            use_dns_cache=False,
            ssl=_https_context(settings.probe_ca_file),
            force_close=True,
        )
        async with aiohttp.ClientSession(connector=connector, auto_decompress=False, trust_env=False) as session:
            seconds = deadline - loop.time()
            answers = await asyncio.gather(
                *(_fetch_one(session, url, domain, settings.probe_total_bytes, seconds) for url in fetchable)
            )
        found = dict(zip(fetchable, answers, strict=True))
    for url in urls:
        host = url.split("/")[2]
        answer = found.get(url)
        if answer is None:
            outcome = outcomes.get(host, "no answer in time")
            result.attempts.append((url, outcome if isinstance(outcome, str) else "not tried"))
        elif isinstance(answer, list):
            result.attempts.append((url, "ok"))
            if result.url is None:
                result.url = url
                result.servers = answer
        else:
            result.attempts.append((url, str(answer)))
    return result
