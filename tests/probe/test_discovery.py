"""Discovery against the lab's DNS server (dnsmasq) and autoconfig web server."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import pytest

import bot.probe.discovery as discovery_module
from bot.cards.card import escape_markdown
from bot.cards.probe import discovery_card
from bot.cards.text import render_text
from bot.knowledge.service import KnowledgeService
from bot.probe import MailProtocol, ProbeRefused, Security, discover
from bot.probe.autoconfig import parse_autoconfig
from bot.probe.discovery import STAGGER_SECONDS
from bot.settings import DEFAULT_KNOWLEDGE_DIR
from tests.probe.servers import AUTOCONFIG_XML, MAIL_HOST, MailLab

if TYPE_CHECKING:
    from bot.cards.card import Card
    from bot.probe import DiscoveryResult, ProbeResult, ProbeTarget
    from bot.settings import Settings
    from tests.probe.conftest import SettingsFactory

pytestmark = pytest.mark.usefixtures("dovecot")


def command_line_text(result: DiscoveryResult) -> str:
    """What `guidenest discover` prints into a pipe."""
    return render_text(discovery_card(result, KnowledgeService(DEFAULT_KNOWLEDGE_DIR).current.knowledge, detail=True))


async def test_the_providers_autoconfig_file_comes_first(make_settings: SettingsFactory, lab: MailLab) -> None:
    result = await discover("someone@example.test", make_settings())
    assert result.domain == "example.test"
    assert result.outcome == "found"
    assert result.autoconfig is not None
    assert result.autoconfig.url == "https://autoconfig.example.test/mail/config-v1.1.xml"
    assert "https://autoconfig.example.test/mail/config-v1.1.xml" in lab.autoconfig_requests

    incoming, outgoing = result.incoming, result.outgoing
    assert incoming is not None
    assert outgoing is not None
    # %EMAILDOMAIN% was filled in, and the provider's first incoming server (IMAP, not POP3) is recommended.
    assert (incoming.protocol, incoming.host, incoming.port, incoming.security) == (
        MailProtocol.IMAP,
        "mail.example.test",
        993,
        Security.SSL,
    )
    assert (outgoing.protocol, outgoing.host, outgoing.port, outgoing.security) == (
        MailProtocol.SMTP,
        "mail.example.test",
        587,
        Security.STARTTLS,
    )
    for item in (incoming, outgoing):
        assert item.source == "autoconfig"
        assert item.probe is not None
        assert item.probe.ok
        assert item.probe.address == MAIL_HOST
        assert "autoconfig file https://autoconfig.example.test/" in item.evidence[0]
        assert item.evidence[1].startswith("Probe from the bot:")
    assert result.mx == [(10, "mail.example.test")]
    data = result.to_json()
    assert data["incoming"]["source"] == "autoconfig"
    assert data["entry"] == "email-settings-discovery"


async def test_srv_records_when_there_is_no_autoconfig(make_settings: SettingsFactory) -> None:
    result = await discover("srv.test", make_settings())
    assert result.autoconfig is not None
    assert result.autoconfig.url is None
    incoming, outgoing = result.incoming, result.outgoing
    assert incoming is not None
    assert outgoing is not None
    assert (incoming.source, incoming.host, incoming.port, incoming.security) == (
        "srv",
        "mail.srv.test",
        993,
        Security.SSL,
    )
    assert (outgoing.source, outgoing.host, outgoing.port, outgoing.security) == (
        "srv",
        "mail.srv.test",
        587,
        Security.STARTTLS,
    )
    assert "_imaps._tcp.srv.test points to mail.srv.test port 993" in incoming.evidence[0]
    assert any(record.service == "_pop3._tcp" and record.target == "." for record in result.srv)
    assert "DNS says _pop3._tcp.srv.test is not offered." in result.notes
    assert any("probably run by provider.test" in note for note in result.notes)


async def test_guessing_waits_for_better_guesses_then_takes_the_first_that_works(
    make_settings: SettingsFactory,
) -> None:
    timeout = 1.5
    result = await discover("guess.test", make_settings(probe_timeout_seconds=timeout))
    incoming, outgoing = result.incoming, result.outgoing
    assert incoming is not None
    assert outgoing is not None
    # imap.guess.test and smtp.guess.test accept connections and never speak; mail.guess.test has it all.
    assert (incoming.source, incoming.host, incoming.port, incoming.security) == (
        "guess",
        "mail.guess.test",
        993,
        Security.SSL,
    )
    assert (outgoing.source, outgoing.host, outgoing.port) == ("guess", "mail.guess.test", 465)
    assert "Better guesses failed first: imap.guess.test:993 SSL/TLS (timeout)." in incoming.evidence
    assert "Better guesses failed first: smtp.guess.test:465 SSL/TLS (timeout)." in outgoing.evidence
    # About one probe timeout in all, not one per guess.
    assert result.elapsed_ms < (timeout * 2) * 1000
    rows = {(row["host"], row["port"]): row for row in result.candidates}
    assert rows[("pop3.guess.test", 995)]["outcome"] == "not probed"
    assert "does not exist" in rows[("pop3.guess.test", 995)]["detail"]


async def test_guesses_start_staggered_in_order_and_overlap(
    make_settings: SettingsFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The real probe, with its start time noted: the schedule is what is under test, not the servers.
    loop = asyncio.get_running_loop()
    starts: dict[tuple[str, int], float] = {}
    real_probe = discovery_module.probe_with_addresses

    async def noted(target: ProbeTarget, *args: Any, **kwargs: Any) -> ProbeResult:
        starts[(target.host, target.port)] = loop.time()
        return await real_probe(target, *args, **kwargs)

    monkeypatch.setattr(discovery_module, "probe_with_addresses", noted)
    timeout = 1.5
    before = loop.time()
    await discover("guess.test", make_settings(probe_timeout_seconds=timeout))

    # The first three incoming guesses (imap., mail., the bare domain on 993), in Thunderbird's order.
    plan = [("imap.guess.test", 993), ("mail.guess.test", 993), ("guess.test", 993)]
    assert all(key in starts for key in plan), starts
    assert STAGGER_SECONDS > 0
    for order, key in enumerate(plan):
        # Never earlier than its slot: the starts are staggered ...
        assert starts[key] - before >= order * STAGGER_SECONDS - 0.005, (key, starts[key] - before)
    assert [starts[key] for key in plan] == sorted(starts[key] for key in plan)
    # ... and in parallel: the last began while the silent first guess was still waiting for its greeting.
    assert starts[plan[-1]] - starts[plan[0]] < timeout


async def test_guesses_resolving_outside_the_allowlist_are_not_probed(make_settings: SettingsFactory) -> None:
    result = await discover("internal.test", make_settings(probe_allow_networks="127.0.2.0/24"))
    assert result.incoming is not None
    assert result.incoming.host == "mail.internal.test"
    row = next(row for row in result.candidates if row["host"] == "imap.internal.test" and row["port"] == 993)
    assert row["outcome"] == "not probed"
    assert "resolves to 10.20.30.40" in row["detail"]
    assert "imap.internal.test:993 SSL/TLS (not probed)" in result.incoming.evidence[-1]
    assert "resolves to 10.20.30.40" in command_line_text(result)


async def test_autoconfig_redirects_are_not_followed(make_settings: SettingsFactory, lab: MailLab) -> None:
    result = await discover("redirect.test", make_settings())
    assert result.autoconfig is not None
    assert result.autoconfig.url is None
    outcomes = dict(result.autoconfig.attempts)
    assert outcomes["https://autoconfig.redirect.test/mail/config-v1.1.xml"] == "HTTP 302 redirect (not followed)"
    assert outcomes["http://autoconfig.redirect.test/mail/config-v1.1.xml"] == "HTTP 302 redirect (not followed)"
    assert result.outcome == "nothing"


async def test_an_endless_autoconfig_file_is_cut_at_the_byte_cap(make_settings: SettingsFactory) -> None:
    result = await discover("redirect.test", make_settings(probe_total_bytes=16384))
    assert result.autoconfig is not None
    outcome = dict(result.autoconfig.attempts)["http://redirect.test/.well-known/autoconfig/mail/config-v1.1.xml"]
    assert outcome == "failed (the file is larger than 16384 bytes)"


async def test_autoconfig_host_on_a_private_address_is_refused(strict_settings: Settings) -> None:
    result = await discover("private.test", strict_settings)
    assert result.autoconfig is not None
    outcome = dict(result.autoconfig.attempts)["https://autoconfig.private.test/mail/config-v1.1.xml"]
    assert outcome.startswith("refused:")
    assert "10.9.9.9" in outcome


@pytest.mark.parametrize(
    ("domain", "words"),
    [
        ("127.0.0.1", "not an IP address"),
        ("[::1]", "not an IP address"),
        ("not a domain", "spaces"),
        ("localhost", "means this machine"),
        ("http://example.test", "not a web address"),
    ],
)
async def test_discovery_needs_a_domain(strict_settings: Settings, domain: str, words: str) -> None:
    with pytest.raises(ProbeRefused) as caught:
        await discover(domain, strict_settings)
    assert words in caught.value.reason


def test_autoconfig_parsing_is_strict() -> None:
    servers = parse_autoconfig(AUTOCONFIG_XML, "example.test", "https://x")
    assert [(server.direction, server.protocol.value, server.port) for server in servers] == [
        ("incoming", "imap", 993),
        ("incoming", "pop3", 995),
        ("outgoing", "smtp", 587),
    ]
    bomb = b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "xx">]><clientConfig>&x;</clientConfig>'
    for bad, words in [
        (bomb, "DTD"),
        (b"<html>not xml", "not well-formed"),
        (b"<other/>", "not a clientConfig"),
        (b"<clientConfig><emailProvider/></clientConfig>", "no usable server"),
    ]:
        with pytest.raises(ValueError, match=words):
            parse_autoconfig(bad, "example.test", "https://x")
    # A server name with an unknown placeholder or an invalid host is skipped, not trusted.
    odd = AUTOCONFIG_XML.replace(b"mail.%EMAILDOMAIN%", b"%EMAILLOCALPART%.example.test")
    assert [server.protocol.value for server in parse_autoconfig(odd, "example.test", "x")] == [
        "pop3",
        "smtp",
    ]


def _shown(card: Card) -> str:
    return "\n".join([card.title, card.description, *(f"{field.name}\n{field.value}" for field in card.fields)])


async def test_srv_records_naming_local_or_private_hosts_are_refused_aloud(make_settings: SettingsFactory) -> None:
    # localhost., 169.254.169.254, a name on 10.x and one on ::1 for incoming; localhost, then the lab's mail host
    # for outgoing. None is probed, none is recommended; the next record is used, and the refusals are said.
    result = await discover("refused-srv.test", make_settings())
    assert result.incoming is None
    assert result.outgoing is not None
    assert (result.outgoing.source, result.outgoing.host, result.outgoing.port) == ("srv", "mail.srv.test", 587)
    assert result.outgoing.probe is not None
    assert result.outgoing.probe.ok
    reasons = {(refusal.host, refusal.port): refusal.reason for refusal in result.refused}
    assert set(reasons) == {
        ("localhost", 993),
        ("169.254.169.254", 143),
        ("ten.private.test", 995),
        ("loopback6.private.test", 110),
        ("localhost", 465),
    }
    assert "means this machine" in reasons[("localhost", 993)]
    assert "metadata" in reasons[("169.254.169.254", 143)]
    assert "10.1.2.3" in reasons[("ten.private.test", 995)]
    assert "::1" in reasons[("loopback6.private.test", 110)]
    assert all(refusal.source == "srv" for refusal in result.refused)
    assert result.outcome == "partial"
    assert [row["host"] for row in result.to_json()["refused"]][:1] == ["localhost"]

    card = discovery_card(result, KnowledgeService(DEFAULT_KNOWLEDGE_DIR).current.knowledge)
    fields = {field.name: field.value for field in card.fields}
    assert "refused" in fields["Incoming"]
    assert "mail.srv.test" in fields["Outgoing"]
    refused = fields["Refused (not recommended)"]
    for host in ("localhost", "169.254.169.254", "ten.private.test", "loopback6.private.test"):
        assert escape_markdown(host) in refused
    assert "**Incoming:** not found" in card.description
    assert "localhost" not in card.description
    text = command_line_text(result)
    assert "Incoming: not found" in text
    assert "Refused (not recommended):" in text
    assert "IMAP 169.254.169.254 port 143 (incoming, SRV record): 169.254.169.254 is the cloud" in text


async def test_autoconfig_servers_naming_local_or_private_hosts_are_passed_over(
    make_settings: SettingsFactory,
) -> None:
    result = await discover("refused-config.test", make_settings())
    assert result.autoconfig is not None
    assert result.autoconfig.url is not None
    # The fifth incoming server is the first the probe may reach; every outgoing one is refused.
    assert result.incoming is not None
    assert (result.incoming.source, result.incoming.host, result.incoming.port) == (
        "autoconfig",
        "mail.example.test",
        993,
    )
    assert "after 4 refused" in result.incoming.evidence[0]
    assert result.outgoing is None
    refused = [(refusal.direction, refusal.host, refusal.port) for refusal in result.refused]
    assert refused == [
        ("incoming", "localhost", 993),
        ("incoming", "::1", 993),
        ("incoming", "169.254.169.254", 995),
        ("incoming", "10.20.30.40", 143),
        ("outgoing", "localhost.", 465),
        ("outgoing", "10.0.0.25", 587),
    ]
    recommended = {item.host for item in (result.incoming, result.outgoing) if item is not None}
    assert not recommended & {host for _, host, _ in refused}

    card = discovery_card(result, KnowledgeService(DEFAULT_KNOWLEDGE_DIR).current.knowledge)
    shown = _shown(card)
    assert "Refused (not recommended)" in shown
    assert "is a loopback address" in shown
    assert "metadata" in shown
    assert "**Incoming:** IMAP mail.example.test port 993" in card.description
    assert "**Outgoing:** not found" in card.description
    text = command_line_text(result)
    assert "Incoming: IMAP mail.example.test port 993" in text
    assert "IMAP ::1 port 993 (incoming, autoconfig file): ::1 is a loopback address" in text
