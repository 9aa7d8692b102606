"""The knowledge base we ship: valid, large enough, and carrying every fact of the Guide Nest article."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from bot.knowledge.loader import check_knowledge
from bot.settings import DEFAULT_KNOWLEDGE_DIR

if TYPE_CHECKING:
    from bot.knowledge.model import KnowledgeBase


@pytest.fixture(scope="module")
def shipped() -> KnowledgeBase:
    knowledge, problems = check_knowledge(DEFAULT_KNOWLEDGE_DIR)
    errors = [p.format(DEFAULT_KNOWLEDGE_DIR) for p in problems if p.severity == "error"]
    assert knowledge is not None, "\n".join(errors)
    return knowledge


def test_size_and_error_strings(shipped: KnowledgeBase) -> None:
    assert len(shipped.entries) >= 60
    distinct_errors = {error.casefold() for entry in shipped.entries.values() for error in entry.errors}
    assert len(distinct_errors) >= 40


def test_every_entry_cites_a_source_with_an_address(shipped: KnowledgeBase) -> None:
    for entry in shipped.entries.values():
        assert any(source.url and source.url.startswith(("https://", "http://")) for source in entry.sources), (
            entry.id
        )


def test_every_provider_says_where_its_settings_come_from(shipped: KnowledgeBase) -> None:
    for provider in shipped.providers:
        assert provider.settings_from in ("ispdb", "provider"), provider.id
        assert provider.source.startswith(("https://", "http://")), provider.id


# Each fact of the article, with the entry that must carry it and words that must appear in its answer.
GUIDE_FACTS = [
    ("incoming (IMAP/POP3) vs outgoing (SMTP)", "incoming-vs-outgoing", [r"IMAP", r"POP3", r"SMTP"]),
    ("IMAP 993 implicit TLS, 143 legacy", "imap-ports", [r"993", r"143"]),
    ("POP3 995 secure, 110 legacy", "pop3-ports", [r"995", r"110"]),
    ("SMTP 465 SSL, 587 STARTTLS, 25 legacy", "smtp-ports", [r"465", r"587", r"\b25\b"]),
    ("RFC 8314 prefers implicit TLS on 465", "smtp-port-465", [r"8314"]),
    ("587 uses STARTTLS", "smtp-port-587", [r"STARTTLS"]),
    ("port 25 often blocked by ISPs against spam", "smtp-port-25-blocked", [r"ISP|provider", r"spam"]),
    (
        "SSL/TLS implicit vs STARTTLS explicit",
        "ssl-vs-starttls",
        [r"STARTTLS", r"(?i)implicit|from the (start|first)"],
    ),
    ("IMAP syncs, POP3 downloads", "imap-vs-pop3", [r"(?i)sync", r"(?i)download"]),
    (
        "cannot connect: port mismatch, wrong host, firewall",
        "cannot-connect-to-server",
        [r"143", r"(?i)host|server name", r"(?i)firewall"],
    ),
    (
        "timeouts come from firewalls blocking ports",
        "connection-timeout-firewall",
        [r"(?i)firewall", r"(?i)block"],
    ),
]


@pytest.mark.parametrize(
    ("fact", "entry_id", "patterns"), GUIDE_FACTS, ids=[fact for fact, _, _ in GUIDE_FACTS]
)
def test_guide_fact_is_in_the_knowledge(
    shipped: KnowledgeBase, fact: str, entry_id: str, patterns: list[str]
) -> None:
    entry = shipped.entries.get(entry_id)
    assert entry is not None, f"no entry {entry_id} for: {fact}"
    for pattern in patterns:
        assert re.search(pattern, entry.answer), f"{entry_id} lacks {pattern!r} ({fact})"


def test_port_table_covers_the_guide(shipped: KnowledgeBase) -> None:
    rows = {(row.protocol, row.port): row for row in shipped.ports}
    for key in [
        ("IMAP", 993),
        ("IMAP", 143),
        ("POP3", 995),
        ("POP3", 110),
        ("SMTP", 465),
        ("SMTP", 587),
        ("SMTP", 25),
    ]:
        assert key in rows, key
    assert rows[("IMAP", 993)].security == "ssl"
    assert rows[("SMTP", 465)].security == "ssl"
    assert rows[("SMTP", 587)].security == "starttls"
    assert rows[("SMTP", 25)].status == "often-blocked"


def test_ten_providers(shipped: KnowledgeBase) -> None:
    domains = {domain for provider in shipped.providers for domain in provider.domains}
    for domain in [
        "gmail.com",
        "outlook.com",
        "hotmail.com",
        "yahoo.com",
        "icloud.com",
        "aol.com",
        "gmx.com",
        "zoho.com",
        "fastmail.com",
        "yandex.com",
    ]:
        assert domain in domains, domain
