"""The probe cog's cards stay within Discord's embed limits, whatever the server said and however long the
knowledge entry is."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.exts.common import EMBED_TOTAL_LIMIT, card_embed
from bot.exts.probe import (
    discovery_card,
    history_card,
    probe_card,
    starttls_text,
    typed_target,
    what_this_means,
)
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
from bot.render import DESCRIPTION_LIMIT
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
            target=typed_target(HOSTILE, 993, "imap", "ssl"),
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
    assert len(typed_target(HOSTILE, 993, "imap", "ssl")) <= 300
    assert history_card([]).description.startswith("No probes on this server yet")
