"""What the knowledge base holds, once loaded and validated: immutable, so a reload can swap it whole."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Mapping

# The values a table may hold; the loader checks files against these same lists.
Protocol = Literal["IMAP", "POP3", "SMTP"]
Security = Literal["ssl", "starttls", "none"]
Direction = Literal["incoming", "outgoing"]
Status = Literal["recommended", "acceptable", "legacy", "often-blocked", "unofficial"]
# Where a provider row's server settings were taken from: Thunderbird's ISP database or the provider's own page.
SettingsFrom = Literal["ispdb", "provider"]

SECURITY_LABELS: Mapping[str, str] = {
    "ssl": "SSL/TLS (implicit TLS)",
    "starttls": "STARTTLS",
    "none": "None (plain text)",
}


@dataclass(frozen=True, slots=True)
class Source:
    title: str
    url: str | None = None


@dataclass(frozen=True, slots=True)
class Entry:
    id: str
    title: str
    asks: tuple[str, ...]
    errors: tuple[str, ...]
    tags: tuple[str, ...]
    related: tuple[str, ...]
    sources: tuple[Source, ...]
    answer: str
    path: Path
    as_of: dt.date | None = None  # the month the answer was last checked against its sources (day 1)
    # Its errors are printed by any program that uses TLS or the network (npm, git, browsers, games), or its
    # symptoms are any app's (late notifications, deleted things coming back), so the bot answers with it unasked
    # only when the message shows it is about mail (matching/matcher.py).
    needs_mail_context: bool = False


@dataclass(frozen=True, slots=True)
class PortRow:
    protocol: Protocol
    port: int
    security: Security
    direction: Direction
    status: Status
    name: str
    standard: str
    notes: str
    entry: str


@dataclass(frozen=True, slots=True)
class ServerSetting:
    protocol: Protocol
    host: str
    port: int
    security: Security


@dataclass(frozen=True, slots=True)
class Provider:
    id: str
    name: str
    domains: tuple[str, ...]
    aliases: tuple[str, ...]
    incoming: tuple[ServerSetting, ...]
    outgoing: tuple[ServerSetting, ...]
    auth: str
    notes: str
    entry: str
    source: str
    settings_from: SettingsFrom = "provider"


@dataclass(frozen=True, slots=True)
class Example:
    """A real message and the entry that answers it best, or None when the knowledge must leave it alone."""

    text: str
    entry: str | None
    also: tuple[str, ...] = ()  # other entries whose answer is right for it too (a post often has several)


@dataclass(frozen=True, slots=True)
class KnowledgeBase:
    entries: Mapping[str, Entry]
    ports: tuple[PortRow, ...] = ()
    providers: tuple[Provider, ...] = ()
    examples: tuple[Example, ...] = ()  # what the re-ranker learns from, beside the entries' phrasings
    root: Path = field(default_factory=Path)

    def entry(self, entry_id: str) -> Entry | None:
        return self.entries.get(entry_id)
