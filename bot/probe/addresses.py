"""Which addresses a probe may connect to, and DNS through dnspython with the configured servers.

The rule (OWASP SSRF prevention): resolve once, refuse the target if ANY address is not a public Internet
address, then connect only to an address that was checked. IPv6 forms that carry an IPv4 address inside are
unwrapped and the IPv4 address is judged too. Operators may open internal networks with
GUIDENEST_PROBE_ALLOW_NETWORKS.
"""

from __future__ import annotations

import asyncio
import ipaddress
from functools import lru_cache
from typing import TYPE_CHECKING

import dns.asyncresolver
import dns.exception
import dns.name
import dns.nameserver
import dns.resolver

from bot.probe.errors import ProbeRefused
from bot.settings import parse_dns_server

if TYPE_CHECKING:
    from collections.abc import Sequence

    from bot.settings import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
_METADATA = (ipaddress.IPv4Address("169.254.169.254"), ipaddress.IPv6Address("fd00:ec2::254"))
_NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
# IANA special-purpose ranges that are not globally reachable, listed here because Python's `is_global` and
# `is_private` lists differ between versions (192.0.0.0/24 and 64:ff9b:1::/48 were missing from 3.11's).
_SPECIAL_PURPOSE = tuple(
    ipaddress.ip_network(network)
    for network in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/128",
        "::1/128",
        "64:ff9b:1::/48",
        "100::/64",
        "2001::/23",
        "2001:db8::/32",
        "3fff::/20",
        "5f00::/16",
        "fc00::/7",
        "fe80::/10",
        "ff00::/8",
    )
)


class DnsLookupError(Exception):
    """The name could not be turned into addresses; the message says why in plain words."""


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, 6to4, Teredo, NAT64, IPv4-compatible), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if any(address in network for network in _NAT64) or address in _IPV4_COMPATIBLE:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _explicitly_allowed(address: IPAddress, allow_networks: Sequence[IPNetwork]) -> bool:
    return any(address.version == network.version and address in network for network in allow_networks)


def _why_not_public(address: IPAddress) -> str | None:
    """Why `address` is not a public Internet address, or None when it is one."""
    if address.is_unspecified:
        return "is the unspecified address, which means this machine"
    if address.is_loopback:
        return "is a loopback address (this machine)"
    if address in _METADATA:
        return "is the cloud metadata service address"
    if address.is_link_local:
        return "is a link-local address"
    if isinstance(address, ipaddress.IPv4Address) and address in _CGNAT:
        return "is carrier-grade NAT shared space (100.64.0.0/10), not a public address"
    if address.is_multicast:
        return "is a multicast address"
    if isinstance(address, ipaddress.IPv6Address) and address in _IPV4_COMPATIBLE:
        return "is a deprecated IPv4-compatible IPv6 address"
    if address.is_private:
        return "is a private or special-purpose address (not on the public Internet)"
    if address.is_reserved:
        return "is a reserved address"
    if any(address.version == network.version and address in network for network in _SPECIAL_PURPOSE):
        return "is a special-purpose address (not on the public Internet)"
    # `is_global` catches what the flags above miss; Python's lists differ between versions.
    if not address.is_global:
        return "is not a public Internet address"
    return None


def refusal_reason(address: IPAddress, allow_networks: Sequence[IPNetwork] = ()) -> str | None:
    """None when a probe may connect to `address`; otherwise the end of a sentence saying why not."""
    if _explicitly_allowed(address, allow_networks):
        return None
    if isinstance(address, ipaddress.IPv6Address):
        if address.is_loopback or address.is_unspecified:
            # ::1 and :: lie in the IPv4-compatible ::/96, but they mean this machine, not 0.0.0.1 or 0.0.0.0.
            return _why_not_public(address)
        inner = embedded_ipv4(address)
        if inner is not None:
            if _explicitly_allowed(inner, allow_networks):
                return None
            inner_reason = _why_not_public(inner)
            if inner_reason is not None:
                return f"carries the IPv4 address {inner}, which {inner_reason}"
            if address.ipv4_mapped is not None:
                # A mapped address is the IPv4 address itself, spelled for an IPv6 socket.
                return None
    return _why_not_public(address)


def check_address(address: IPAddress, settings: Settings, *, shown_as: str | None = None) -> None:
    """Raise ProbeRefused unless `address` may be probed."""
    reason = refusal_reason(address, settings.probe_allow_networks)
    if reason is not None:
        name = shown_as if shown_as is not None else str(address)
        raise ProbeRefused(f"{name} {reason}; the probe only connects to public Internet addresses.")


@lru_cache(maxsize=8)
def _resolver(servers: tuple[str, ...], lifetime: float) -> dns.asyncresolver.Resolver:
    if servers:
        resolver = dns.asyncresolver.Resolver(configure=False)
        try:
            resolver.nameservers = [dns.nameserver.Do53Nameserver(*parse_dns_server(entry)) for entry in servers]
        except ValueError as exc:
            # A configuration mistake: every lookup reports it, rather than the probe crashing.
            raise DnsLookupError(str(exc)) from None
    else:
        try:
            resolver = dns.asyncresolver.Resolver()
        except dns.resolver.NoResolverConfiguration:
            raise DnsLookupError("this machine has no DNS server configured (set GUIDENEST_DNS_SERVERS)") from None
    resolver.lifetime = lifetime
    resolver.timeout = min(lifetime, 3.0)
    return resolver


def make_resolver(settings: Settings, lifetime: float | None = None) -> dns.asyncresolver.Resolver:
    """A resolver for the configured servers (GUIDENEST_DNS_SERVERS), or the system's when none are set."""
    budget = settings.probe_timeout_seconds if lifetime is None else max(0.1, lifetime)
    return _resolver(tuple(settings.dns_servers), round(budget, 2))


def _absolute(host: str) -> dns.name.Name:
    # Absolute, so no search domain from resolv.conf is ever appended.
    return dns.name.from_text(host.rstrip(".") + ".")


async def resolve_addresses(host: str, settings: Settings, lifetime: float | None = None) -> list[IPAddress]:
    """All A and AAAA addresses of `host`, IPv4 first; DnsLookupError when there are none."""
    resolver = make_resolver(settings, lifetime)
    name = _absolute(host)
    answers = await asyncio.gather(
        resolver.resolve(name, "A", search=False, raise_on_no_answer=False),
        resolver.resolve(name, "AAAA", search=False, raise_on_no_answer=False),
        return_exceptions=True,
    )
    addresses: list[IPAddress] = []
    problems: list[BaseException] = []
    for answer in answers:
        if isinstance(answer, BaseException):
            problems.append(answer)
            continue
        addresses.extend(ipaddress.ip_address(record.to_text()) for record in answer)
    if addresses:
        return addresses
    raise DnsLookupError(_dns_failure_text(host, problems))


def _dns_failure_text(host: str, problems: Sequence[BaseException]) -> str:
    for problem in problems:
        if isinstance(problem, dns.resolver.NXDOMAIN):
            return f"the name {host} does not exist in DNS"
    for problem in problems:
        if isinstance(problem, dns.exception.Timeout):
            return f"the DNS server did not answer in time when looking up {host}"
        if isinstance(problem, dns.resolver.NoNameservers):
            return f"no DNS server could answer for {host} (SERVFAIL or refused)"
    for problem in problems:
        if not isinstance(problem, dns.exception.DNSException):
            raise problem
    return f"the name {host} exists but has no address (no A or AAAA record)"


async def resolve_checked(host: str, settings: Settings, lifetime: float | None = None) -> list[IPAddress]:
    """Resolve `host` and refuse it unless every address may be probed (ProbeRefused, DnsLookupError)."""
    addresses = await resolve_addresses(host, settings, lifetime)
    for address in addresses:
        check_address(address, settings, shown_as=f"{host} resolves to {address}, which")
    return addresses
