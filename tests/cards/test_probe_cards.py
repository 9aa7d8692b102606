"""Probe, discovery and probe-history cards: within Discord's embed limits whatever the server said and however
long the knowledge entry is; with every detail the command line shows in detail mode."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.cards.card import DESCRIPTION_LIMIT, EMBED_TOTAL_LIMIT, FIELD_VALUE_LIMIT, Tone
from bot.cards.probe import (
    discovery_card,
    history_card,
    probe_card,
    starttls_text,
    what_this_means,
)
from bot.exts.common import card_embed
from bot.knowledge.service import KnowledgeService
from bot.probe import (
    CertificateInfo,
    DiscoveryResult,
    ErrorKind,
    MailProtocol,
    ProbeError,
    ProbeResult,
    ProbeTarget,
    Recommendation,
    Security,
    Stage,
    TlsInfo,
)
from bot.settings import DEFAULT_KNOWLEDGE_DIR
from bot.storage import ProbeAuditRow

HOSTILE = "**bold** @everyone `tick` <@123> [link](http://x) " * 40


@pytest.fixture(scope="module")
def knowledge():
    return KnowledgeService(DEFAULT_KNOWLEDGE_DIR).current.knowledge


def loud_result(kind: ErrorKind) -> ProbeResult:
    """Every part of a probe result as long and as hostile as the core lets it be."""
    target = ProbeTarget("mail." + "a" * 60 + ".example", 465, MailProtocol.SMTP, Security.SSL)
    certificate = CertificateInfo(
        subject="CN=" + HOSTILE[:300],
        issuer="O=" + HOSTILE[:300],
        sans=[f"name{i}.example.com" for i in range(200)],
        not_before="2020-01-01T00:00:00",
        not_after="2021-01-01T00:00:00",
        days_left=-1500,
        hostname_matches=False,
        trusted=False,
        self_signed=True,
        verify_error=HOSTILE[:200],
    )
    return ProbeResult(
        target=target,
        address="2001:db8::1",
        banner=HOSTILE[:300],
        capabilities=[f"X-CAP-{i}" for i in range(300)],
        starttls_offered=None,
        tls=TlsInfo("TLSv1.3", "TLS_AES_256_GCM_SHA384", certificate),
        error=ProbeError(Stage.GREETING, kind, HOSTILE),
        stages={stage.value: 12.5 for stage in Stage},
        elapsed_ms=9999.0,
        detected_protocol="smtp",
    )


@pytest.mark.parametrize("kind", list(ErrorKind))
def test_probe_card_fits_with_hostile_server_text(knowledge, kind: ErrorKind) -> None:
    card = probe_card(loud_result(kind), knowledge)
    embed = card_embed(card)
    assert len(embed) <= EMBED_TOTAL_LIMIT
    assert "**What this means**" in (embed.description or "")
    assert "@everyone" not in embed.description  # escaped (the bot also sends with mentions off)
    banner = next(field.value for field in embed.fields if field.name == "Banner")
    assert "\\*\\*bold\\*\\*" in (banner or "")


@pytest.mark.parametrize("room", [600, 1500, 4000])
def test_what_this_means_fits_every_entry(knowledge, room: int) -> None:
    # Any entry can be the one a diagnosis names: each fits, whole or cut where a paragraph ends.
    for entry in knowledge.entries.values():
        text = what_this_means("A summary with (brackets).", entry, room)
        assert len(text) <= room
        assert text.startswith("**What this means**\nA summary with \\(brackets\\).")
        assert f"**{entry.title}**" in text
        assert text.endswith(("…", entry.answer))  # a paragraph too long for the room is cut at a word


def test_probe_card_of_a_working_server(knowledge) -> None:
    result = ProbeResult(
        target=ProbeTarget("imap.example.com", 993, MailProtocol.IMAP, Security.SSL),
        address="192.0.2.1",
        ok=True,
        banner="* OK ready",
        stages={"dns": 3.0, "tcp": 0.4, "tls": 30.0, "greeting": 5.0},
        elapsed_ms=48.0,
    )
    card = probe_card(result, knowledge)
    assert card.entry_id == "imap-ports"
    assert card.description.startswith("✅ **Works** — checked in 48 ms.")
    stages = next(field.value for field in card.fields if field.name == "Stages")
    assert stages == "dns 3 ms · tcp <1 ms · tls 30 ms · greeting 5 ms · total 48 ms"
    assert starttls_text(result) == "not used (SSL/TLS from the start)"
    refused = ProbeResult(
        target=ProbeTarget("imap.example.com", 143, MailProtocol.IMAP, Security.STARTTLS),
        error=ProbeError(Stage.TCP, ErrorKind.CONNECTION_REFUSED, "connection refused"),
    )
    assert starttls_text(refused) == "not checked (the probe stopped earlier)"
    assert len(card_embed(card)) <= EMBED_TOTAL_LIMIT


def test_discovery_card_fits_with_long_evidence(knowledge) -> None:
    def recommendation(direction: str) -> Recommendation:
        return Recommendation(
            direction=direction,
            protocol=MailProtocol.IMAP,
            host="imap.example.com",
            port=993,
            security=Security.SSL,
            source="guess",
            evidence=[HOSTILE] * 5,
            probe=None,
        )

    result = DiscoveryResult(
        domain="example.com",
        incoming=recommendation("incoming"),
        outgoing=None,
        notes=[HOSTILE] * 10,
        elapsed_ms=2500.0,
    )
    embed = card_embed(discovery_card(result, knowledge))
    assert len(embed) <= EMBED_TOTAL_LIMIT
    assert "**Outgoing:** not found" in (embed.description or "")


def test_history_card_fits_25_long_rows() -> None:
    at = dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    rows = [
        ProbeAuditRow(
            at=at,
            user_id=10**18 + index,
            guild_id=1,
            action="probe",
            target=HOSTILE[:300],
            address="2001:db8::1",
            outcome="refused: " + HOSTILE,
            duration_ms=123,
        )
        for index in range(25)
    ]
    card = history_card(rows)
    assert len(card.description) <= DESCRIPTION_LIMIT
    first = card.description.splitlines()[0]
    assert first.startswith(f"<t:{int(at.timestamp())}:R> <@{10**18}> /probe **")
    assert history_card([]).description.startswith("No probes on this server yet")


def test_probe_tones_and_the_entry_without_knowledge(knowledge) -> None:
    working = ProbeResult(
        target=ProbeTarget("imap.example.com", 993, MailProtocol.IMAP, Security.SSL), ok=True, elapsed_ms=5.0
    )
    assert probe_card(working, knowledge).tone is Tone.OK
    failed = loud_result(ErrorKind.TLS_HANDSHAKE_FAILED)
    assert probe_card(failed, knowledge).tone is Tone.FAIL
    # The knowledge had errors (the command line goes on without it): the diagnosis still names its entry.
    bare = probe_card(working, None)
    assert bare.footer is not None
    assert bare.footer.startswith("Knowledge entry: imap-ports · ")
    assert bare.entry_id is None
    assert bare.description.endswith("**What this means**\n" + bare.description.split("**What this means**\n")[1])
    assert "**IMAP ports" not in bare.description


def test_probe_detail_keeps_what_discord_leaves_out(knowledge) -> None:
    result = loud_result(ErrorKind.TLS_HANDSHAKE_FAILED)
    assert result.tls is not None
    assert result.tls.certificate is not None
    certificate = result.tls.certificate
    certificate.subject, certificate.issuer, certificate.verify_error = "CN=mail", "O=CA", None
    result.capabilities_before_tls = ["STARTTLS", "AUTH=PLAIN"]
    result.error = ProbeError(Stage.TLS, ErrorKind.TLS_HANDSHAKE_FAILED, "wrong version number " + "x" * 400)
    short = probe_card(result, knowledge)
    detailed = probe_card(result, knowledge, detail=True)
    assert "Capabilities before TLS" not in {field.name for field in short.fields}
    before = next(field.value for field in detailed.fields if field.name == "Capabilities before TLS")
    assert before == "STARTTLS AUTH=PLAIN"
    assert "x" * 400 in detailed.description
    assert "x" * 400 not in short.description

    def names(card) -> str:
        certificate = next(field.value for field in card.fields if field.name == "Certificate")
        return next(line for line in certificate.splitlines() if line.startswith("Names: "))

    assert len(names(detailed)) > len(names(short)) + 200
    assert all(len(field.value) <= FIELD_VALUE_LIMIT for field in detailed.fields)


def test_discovery_detail_lists_guesses_and_explains_even_when_found(knowledge) -> None:
    from bot.probe.discovery import Refusal

    def recommendation(direction: str, host: str) -> Recommendation:
        return Recommendation(direction, MailProtocol.IMAP, host, 993, Security.SSL, "guess", ["it answered"], None)

    refusals = [
        Refusal("incoming", MailProtocol.IMAP, f"h{i}.example", 993, Security.SSL, "srv", "SRV", "r" * 300)
        for i in range(12)
    ]
    guesses = [
        {
            "source": "guess",
            "host": "imap.example.com",
            "port": 993,
            "security": "ssl",
            "outcome": "ok",
            "detail": None,
        },
        {
            "source": "guess",
            "host": "pop.example.com",
            "port": 995,
            "security": "ssl",
            "outcome": "failed",
            "detail": "the name pop.example.com does not exist",
        },
        {
            "source": "guess",
            "host": "mail.example.com",
            "port": 143,
            "security": "starttls",
            "outcome": "not probed",
            "detail": "resolves to 10.0.0.1",
        },
    ]
    result = DiscoveryResult(
        domain="example.com",
        incoming=recommendation("incoming", "imap.example.com"),
        outgoing=recommendation("outgoing", "smtp.example.com"),
        candidates=guesses,
        refused=refusals,
        elapsed_ms=1200.0,
    )
    short = discovery_card(result, knowledge)
    detailed = discovery_card(result, knowledge, detail=True)
    assert (short.tone, detailed.tone) == (Tone.OK, Tone.OK)
    entry = knowledge.entry("email-settings-discovery")
    assert f"**{entry.title}**" not in short.description  # Discord: the evidence says enough when all was found
    assert f"**{entry.title}**" in detailed.description
    fields = {field.name: field.value for field in detailed.fields}
    assert "Guesses" not in {field.name for field in short.fields}
    assert fields["Guesses"].splitlines() == [
        "imap.example.com:993 SSL/TLS: ok",
        "mail.example.com:143 STARTTLS: not probed \\(resolves to 10.0.0.1\\)",
        "no address in DNS: pop.example.com",
    ]
    # Every refusal with its whole reason, over as many fields as it takes; Discord's field says how many more.
    refused = "\n".join(f.value for f in detailed.fields if f.name.startswith("Refused (not recommended)"))
    assert refused.count("r" * 300) == 12
    assert "Refused (not recommended) (continued)" in fields
    assert "… and " in next(f.value for f in short.fields if f.name == "Refused (not recommended)")
    partial = DiscoveryResult(domain="example.com", incoming=recommendation("incoming", "imap.example.com"))
    assert discovery_card(partial, knowledge).tone is Tone.UNSURE
    assert discovery_card(DiscoveryResult(domain="example.com"), knowledge).tone is Tone.FAIL
