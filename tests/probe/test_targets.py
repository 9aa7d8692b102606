"""Strict target parsing and the address rules: what may be probed, and bypass attempts that must fail."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

import pytest

from bot.probe import MailProtocol, ProbeRefused, Security, parse_target, refusal_reason, run_probe

if TYPE_CHECKING:
    from bot.settings import Settings
    from tests.probe.conftest import SettingsFactory

PUBLIC_V4 = "93.184.216.34"
PUBLIC_V6 = "2606:2800:220:1:248:1893:25c8:1946"


# --- reading the target -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("port", "protocol", "security"),
    [
        (993, MailProtocol.IMAP, Security.SSL),
        (143, MailProtocol.IMAP, Security.STARTTLS),
        (995, MailProtocol.POP3, Security.SSL),
        (110, MailProtocol.POP3, Security.STARTTLS),
        (465, MailProtocol.SMTP, Security.SSL),
        (587, MailProtocol.SMTP, Security.STARTTLS),
        (25, MailProtocol.SMTP, Security.STARTTLS),
        (2525, MailProtocol.SMTP, Security.STARTTLS),
    ],
)
def test_a_standard_port_names_its_protocol_and_security(
    strict_settings: Settings, port: int, protocol: MailProtocol, security: Security
) -> None:
    target = parse_target("Mail.Example.COM.", port, None, None, strict_settings)
    assert (target.host, target.port, target.protocol, target.security) == (
        "mail.example.com",
        port,
        protocol,
        security,
    )
    assert not target.is_ip


@pytest.mark.parametrize(
    ("protocol", "security", "port"),
    [
        ("imap", "ssl", 993),
        ("IMAP", "starttls", 143),
        ("imap", "plain", 143),
        ("pop3", "SSL", 995),
        ("pop", "stls", 110),
        ("smtp", "ssl", 465),
        ("smtp", "starttls", 587),
        ("smtp", "plain", 25),
        ("smtp", None, 465),  # no security named: SSL/TLS, as RFC 8314 recommends
    ],
)
def test_protocol_and_security_give_the_standard_port(
    strict_settings: Settings, protocol: str, security: str | None, port: int
) -> None:
    assert parse_target("mail.example.com", None, protocol, security, strict_settings).port == port


def test_port_and_security_together_keep_what_was_asked(strict_settings: Settings) -> None:
    # A member's wrong combination is exactly what the probe must be able to test.
    target = parse_target("mail.example.com", 587, None, "ssl", strict_settings)
    assert (target.protocol, target.security) == (MailProtocol.SMTP, Security.SSL)


def test_public_addresses_and_idn_names_are_accepted(strict_settings: Settings) -> None:
    assert parse_target(PUBLIC_V4, 993, None, None, strict_settings).is_ip
    assert parse_target(f"[{PUBLIC_V6}]", 993, None, None, strict_settings).host == PUBLIC_V6
    assert parse_target("bücher.example", 993, None, None, strict_settings).host == "xn--bcher-kva.example"


@pytest.mark.parametrize(
    ("host", "port", "protocol", "security", "words"),
    [
        ("", 993, None, None, "server name"),
        ("mail.example.com", None, None, None, "Give a port"),
        ("mail.example.com", 993, "http", None, "Unknown protocol"),
        ("mail.example.com", 993, None, "tls1.3", "Unknown security"),
        ("mail.example.com:993", None, "imap", None, "not as host:port"),
        ("imap://mail.example.com", 993, None, None, "not a web address"),
        ("user@example.com", 993, None, None, "email address"),
        ("mail", 993, None, None, "full server name"),
        ("mail_server.example.com", 993, None, None, "not a valid server name"),
        ("-bad.example.com", 993, None, None, "not a valid server name"),
        ("a" * 64 + ".example.com", 993, None, None, "not a valid server name"),
        ("mail.example.com\x00.evil", 993, None, None, "invisible"),
        ("mail.exa mple.com", 993, None, None, "spaces"),
    ],
)
def test_bad_targets_are_refused_with_a_reason(
    strict_settings: Settings,
    host: str,
    port: int | None,
    protocol: str | None,
    security: str | None,
    words: str,
) -> None:
    with pytest.raises(ProbeRefused) as caught:
        parse_target(host, port, protocol, security, strict_settings)
    assert words in caught.value.reason


# --- bypass attempts: none of these may be probed without an allowlist --------------------------------------

LITERAL_BYPASSES = [
    "127.0.0.1",
    "127.0.2.2",
    "127.1",  # short form
    "0x7f.0.0.1",  # hex
    "0x7f000001",
    "0177.0.0.1",  # octal
    "017700000001",
    "2130706433",  # decimal
    "127.0.0.1.",
    "\uff11\uff12\uff17.\uff10.\uff10.\uff11",  # full-width digits
    "10.0.0.1",
    "172.16.5.4",
    "192.168.0.1",
    "100.64.0.1",  # CGNAT
    "100.127.255.254",
    "169.254.169.254",  # cloud metadata
    "169.254.1.1",
    "0.0.0.0",
    "0",
    "224.0.0.1",
    "255.255.255.255",
    "240.0.0.1",
    "198.18.0.1",
    "192.0.0.8",
    "::1",
    "[::1]",
    "::",
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:7f00:1",
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "::127.0.0.1",  # IPv4-compatible
    "2002:7f00:1::1",  # 6to4 around 127.0.0.1
    "2002:a00:1::",  # 6to4 around 10.0.0.1
    "2002:a9fe:a9fe::1",  # 6to4 around the metadata address
    "64:ff9b::7f00:1",  # NAT64 around 127.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 around the metadata address
    "64:ff9b:1::a00:1",  # local-use NAT64
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
    "fd00::1",  # unique local
    "fc00::1",
    "fe80::1",  # link-local
    "fe80::1%eth0",
    "ff02::1",  # multicast
    "localhost",
    "LOCALHOST.",
    "mail.localhost",
    "127.0.0.1\u200b",  # zero-width space
]


@pytest.mark.parametrize("host", LITERAL_BYPASSES)
def test_literal_bypass_attempts_are_refused(strict_settings: Settings, host: str) -> None:
    with pytest.raises(ProbeRefused) as caught:
        parse_target(host, 993, None, None, strict_settings)
    assert caught.value.reason  # a sentence, not an empty refusal


NAME_BYPASSES = [
    ("loopback.private.test", "127.0.0.1"),
    ("ten.private.test", "10.1.2.3"),
    ("oneninetwo.private.test", "192.168.1.10"),
    ("metadata.private.test", "169.254.169.254"),
    ("cgnat.private.test", "100.64.1.1"),
    ("zero.private.test", "0.0.0.0"),
    ("mapped.private.test", "::ffff:127.0.0.1"),
    ("ula.private.test", "fd12:3456::1"),
    ("linklocal6.private.test", "fe80::1"),
    ("nat64.private.test", "64:ff9b::a00:1"),
    ("sixtofour.private.test", "2002:7f00:1::1"),
    ("loopback6.private.test", "::1"),
    ("mixed.private.test", "10.0.0.1"),  # one public and one private address: refused as a whole
    ("alias.private.test", "10.1.2.3"),  # a CNAME to a private name
]


@pytest.mark.parametrize(("name", "address"), NAME_BYPASSES)
async def test_names_resolving_to_private_addresses_are_refused(
    strict_settings: Settings, lab: object, name: str, address: str
) -> None:
    target = parse_target(name, 993, None, None, strict_settings)  # a name passes parsing ...
    with pytest.raises(ProbeRefused) as caught:
        await run_probe(target, strict_settings)  # ... and is refused once resolved, before any connection
    assert f"resolves to {ipaddress.ip_address(address)}" in caught.value.reason
    assert "public Internet" in caught.value.reason


@pytest.mark.parametrize("port", [22, 80, 443, 3306, 6379, 8080, 11211, 0, 65536, -1])
def test_ports_off_the_list_are_refused(strict_settings: Settings, port: int) -> None:
    with pytest.raises(ProbeRefused):
        parse_target(PUBLIC_V4, port, "smtp", None, strict_settings)


def test_the_port_list_is_configurable(make_settings: SettingsFactory) -> None:
    settings = make_settings(probe_allowed_ports="993")
    assert parse_target(PUBLIC_V4, 993, None, None, settings).port == 993
    with pytest.raises(ProbeRefused, match="allowed: 993"):
        parse_target(PUBLIC_V4, 587, None, None, settings)
    with pytest.raises(ProbeRefused, match="465"):
        parse_target(PUBLIC_V4, None, "smtp", "ssl", settings)


def test_an_allowlist_opens_only_the_networks_it_names(make_settings: SettingsFactory) -> None:
    settings = make_settings(probe_allow_networks="127.0.2.0/24")
    assert parse_target("127.0.2.2", 465, None, None, settings).host == "127.0.2.2"
    # The IPv4 inside a mapped address counts too, so the allowlist works for both spellings.
    assert parse_target("::ffff:127.0.2.2", 465, None, None, settings).is_ip
    for outside in ("127.0.0.1", "10.0.0.1", "::1"):
        with pytest.raises(ProbeRefused):
            parse_target(outside, 465, None, None, settings)


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST.", "mail.localhost"])
def test_localhost_names_are_refused_as_this_machine(strict_settings: Settings, host: str) -> None:
    # Not "give the full server name": that would suggest imap.localhost.com, which is no help.
    with pytest.raises(ProbeRefused, match="means this machine"):
        parse_target(host, 993, None, None, strict_settings)


def test_refusal_reasons_name_the_kind_of_address() -> None:
    cases = {
        "127.0.0.1": "loopback",
        "169.254.169.254": "metadata",
        "100.64.0.1": "carrier-grade NAT",
        "10.0.0.1": "private",
        "224.0.0.1": "multicast",
        "0.0.0.0": "unspecified",
        "::ffff:127.0.0.1": "carries the IPv4 address 127.0.0.1",
        "2002:a00:1::": "carries the IPv4 address 10.0.0.1",
        "fe80::1": "link-local",
    }
    for text, words in cases.items():
        reason = refusal_reason(ipaddress.ip_address(text))
        assert reason is not None, text
        assert words in reason, (text, reason)
    assert refusal_reason(ipaddress.ip_address(PUBLIC_V4)) is None
    assert refusal_reason(ipaddress.ip_address(PUBLIC_V6)) is None
    assert refusal_reason(ipaddress.ip_address("::ffff:93.184.216.34")) is None


def test_at_least_thirty_bypass_attempts_are_covered() -> None:
    assert len(LITERAL_BYPASSES) + len(NAME_BYPASSES) >= 30
