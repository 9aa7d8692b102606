"""Looking up the knowledge base's tables: mail ports by protocol, number or security, and providers by name.

`find_ports` reads a query as constraints ("smtp starttls" = protocol SMTP and security STARTTLS); the
autocomplete helpers return `(label, value)` pairs whose value, passed back to `find_ports` or
`find_provider`, finds exactly the row that was picked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Literal

from rapidfuzz import fuzz, process
from rapidfuzz.distance import DamerauLevenshtein

from bot.knowledge.model import SECURITY_LABELS
from bot.matching.normalize import strip_invisible
from bot.matching.vocabulary import COMMON_WORDS, STOPWORDS

if TYPE_CHECKING:
    from collections.abc import Sequence

    from bot.knowledge.model import KnowledgeBase, PortRow, Provider

MAX_LABEL = 100  # Discord's limit for an autocomplete choice's name and value
MAX_QUERY = 200  # a provider query longer than this names nothing more

# --- Ports -------------------------------------------------------------------------------------------------

_PROTOCOL_WORDS: dict[str, str] = {
    "imap": "IMAP",
    "imap4": "IMAP",
    "imaps": "IMAP",
    "pop": "POP3",
    "pop3": "POP3",
    "pop3s": "POP3",
    "pops": "POP3",
    "smtp": "SMTP",
    "smtps": "SMTP",
    "esmtp": "SMTP",
}
_SECURITY_WORDS: dict[str, tuple[str, ...]] = {
    "ssl": ("ssl",),
    "tls": ("ssl",),
    "implicit": ("ssl",),
    "imaps": ("ssl",),
    "pop3s": ("ssl",),
    "pops": ("ssl",),
    "smtps": ("ssl",),
    "starttls": ("starttls",),
    "stls": ("starttls",),
    "explicit": ("starttls",),
    "none": ("none",),
    "plain": ("none",),
    "plaintext": ("none",),
    "unencrypted": ("none",),
    "insecure": ("none",),
    "cleartext": ("none",),
    "secure": ("ssl", "starttls"),
    "encrypted": ("ssl", "starttls"),
}
_DIRECTION_WORDS: dict[str, str] = {
    "incoming": "incoming",
    "inbound": "incoming",
    "receive": "incoming",
    "receiving": "incoming",
    "download": "incoming",
    "outgoing": "outgoing",
    "outbound": "outgoing",
    "send": "outgoing",
    "sending": "outgoing",
}
_STATUS_WORDS: dict[str, str] = {
    "recommended": "recommended",
    "acceptable": "acceptable",
    "legacy": "legacy",
    "blocked": "often-blocked",
    "unofficial": "unofficial",
    "alternative": "unofficial",
}
_PORT_VOCABULARY = tuple(sorted({*_PROTOCOL_WORDS, *_SECURITY_WORDS, *_DIRECTION_WORDS, *_STATUS_WORDS}))


@dataclass(slots=True)
class _PortQuery:
    protocols: set[str] = field(default_factory=set)
    securities: set[str] = field(default_factory=set)
    directions: set[str] = field(default_factory=set)
    statuses: set[str] = field(default_factory=set)
    numbers: set[int] = field(default_factory=set)
    names: set[str] = field(default_factory=set)
    service_names: frozenset[str] = frozenset()  # the table's service names that are not protocol words

    @property
    def empty(self) -> bool:
        return not (self.protocols or self.securities or self.directions or self.statuses or self.numbers or self.names)

    def add(self, word: str) -> bool:
        """Take one word of the query; False when it says nothing about ports."""
        known = False
        if word in self.service_names:  # "submission" is 587, "submissions" 465, "imaps" 993
            self.names.add(word)
            return True
        if word in _PROTOCOL_WORDS:
            self.protocols.add(_PROTOCOL_WORDS[word])
            known = True
        if word in _SECURITY_WORDS:
            self.securities.update(_SECURITY_WORDS[word])
            known = True
        if word in _DIRECTION_WORDS:
            self.directions.add(_DIRECTION_WORDS[word])
            known = True
        if word in _STATUS_WORDS:
            self.statuses.add(_STATUS_WORDS[word])
            known = True
        if word.isdigit() and len(word) <= 5:
            self.numbers.add(int(word))
            known = True
        return known

    def accepts(self, row: PortRow) -> bool:
        return (
            (not self.protocols or row.protocol in self.protocols)
            and (not self.securities or row.security in self.securities)
            and (not self.directions or row.direction in self.directions)
            and (not self.statuses or row.status in self.statuses)
            and (not self.numbers or row.port in self.numbers)
            and (not self.names or row.name in self.names)
        )


def _port_words(query: str) -> list[str]:
    # "ssl/tls", "pop-3" and "STARTTLS" all read the same; nothing is stripped as a host name here.
    # Invisible characters would split "99\u200b3" into two words.
    text = strip_invisible(query).casefold().replace("pop-3", "pop3").replace("ssl/tls", "ssl")
    return re.findall(r"[a-z0-9]+", text)


def _parse_ports(knowledge: KnowledgeBase, query: str) -> _PortQuery:
    names = frozenset(r.name.casefold() for r in knowledge.ports) - set(_PROTOCOL_WORDS) - {"none"}
    parsed = _PortQuery(service_names=names)
    vocabulary = tuple(sorted({*_PORT_VOCABULARY, *names}))
    for word in _port_words(query):
        if parsed.add(word) or len(word) < 4 or not word.isalpha():
            continue
        # "imao", "starttsl", "outgoign": one slip from a word the table understands.
        found = process.extractOne(word, vocabulary, scorer=DamerauLevenshtein.distance, processor=None, score_cutoff=1)
        if found is not None:
            parsed.add(found[0])
    return parsed


def find_ports(knowledge: KnowledgeBase, query: str) -> list[PortRow]:
    """Rows of the ports table that fit every part of `query`, in table order; an empty query gives all rows.

    "imap" → the IMAP rows; "993" → port 993; "smtp starttls" → SMTP rows using STARTTLS; "submission" → 587;
    a query that names nothing about ports finds nothing.
    """
    if not query.strip():
        return list(knowledge.ports)
    parsed = _parse_ports(knowledge, query)
    if parsed.empty:
        return []
    return [row for row in knowledge.ports if parsed.accepts(row)]


def port_label(row: PortRow) -> str:
    label = f"{row.protocol} {row.port} · {SECURITY_LABELS[row.security]} · {row.direction} · {row.status}"
    return label[:MAX_LABEL]


def port_value(row: PortRow) -> str:
    """A query that `find_ports` answers with exactly this row: (protocol, port, security) is unique."""
    return f"{row.protocol.lower()} {row.port} {row.security}"


def port_choices(knowledge: KnowledgeBase, query: str, limit: int = 25) -> list[tuple[str, str]]:
    """Autocomplete for a port query: the rows it finds, reading a half-typed last word ("imap sta") as the words
    of the table's vocabulary that it begins, and a half-typed number ("99") as the ports it begins."""
    rows = list(knowledge.ports)
    words = _port_words(query)
    if not words:
        chosen = rows
    else:
        head, last = " ".join(words[:-1]), words[-1]
        names = {r.name.casefold() for r in rows}
        vocabulary = {*_PORT_VOCABULARY, *names}
        completions = sorted(w for w in vocabulary if w.startswith(last) and w != last) if last.isalpha() else []
        if last.isdigit():
            base = find_ports(knowledge, head) if head else rows
            chosen = [r for r in base if str(r.port).startswith(last)]
        elif last not in vocabulary and len(last) >= 2 and completions:
            chosen = []
            for word in completions:
                chosen += [r for r in find_ports(knowledge, f"{head} {word}") if r not in chosen]
        else:
            chosen = find_ports(knowledge, query)
    return [(port_label(r), port_value(r)) for r in chosen[: max(limit, 0)]]


# --- Providers --------------------------------------------------------------------------------------------

MatchedBy = Literal["name", "domain", "server", "typo"]

# Words that name no provider, however close they are to one: "email" is one letter from "gmail", "mail" is
# mail.com's first label, and "my work email" names no provider at all.
_GENERIC_WORDS = STOPWORDS | COMMON_WORDS | {
    "email", "emails", "mail", "mails", "webmail", "inbox", "mailbox", "account", "accounts", "settings",
    "setting", "server", "servers", "smtp", "imap", "pop", "pop3", "incoming", "outgoing", "port", "ports",
    "password", "login", "app", "apps", "client", "work", "school", "business", "personal", "company",
    "corporate", "office", "provider", "custom", "domain", "own", "private",
}
_NEAREST = 3  # names offered when nothing matched
_NEAREST_CUTOFF = 55.0


@dataclass(frozen=True, slots=True)
class ProviderLookup:
    """What a provider query found: a real match, or nothing and the nearest names to offer instead."""

    query: str
    match: Provider | None
    matched_by: MatchedBy | None = None
    also: tuple[Provider, ...] = ()  # other providers the same domain or server host names (shared hosts)
    nearest: tuple[Provider, ...] = ()  # when nothing matched: names close to what was typed, to offer
    domain: str | None = None  # the query named this domain (or an address at it)


def _key(text: str) -> str:
    return " ".join(re.findall(r"[^\W_]+", text.casefold()))


@lru_cache(maxsize=1024)  # rows are immutable; autocomplete asks for every row's names at each keystroke
def _names(provider: Provider) -> tuple[str, ...]:
    """Every way of naming a provider: id, name, aliases, domains and their first labels."""
    names = [provider.id, provider.name, *provider.aliases, *provider.domains]
    names += [d.split(".")[0] for d in provider.domains]
    keys = {_key(n) for n in names}
    return tuple(sorted(k for k in keys if k and k not in _GENERIC_WORDS))


def _domain_of(query: str) -> str | None:
    text = query.strip().casefold()
    if "@" in text:
        text = text.rsplit("@", 1)[1]
    text = text.strip(" .<>\"'")
    return text if re.fullmatch(r"[a-z0-9-]+(?:\.[a-z0-9-]+)+", text) else None


def _slips(word: str) -> int:
    """Typing slips a word may carry and still name a provider: none under five letters ("gmx", "aol", "me")."""
    return 0 if len(word) < 5 else 1 if len(word) < 9 else 2


def _by_domain(providers: Sequence[Provider], domain: str) -> tuple[list[Provider], MatchedBy | None]:
    """A server host names every provider using it (hosts are shared); else an address domain, or a subdomain."""
    hosts = [p for p in providers if any(domain == s.host for s in (*p.incoming, *p.outgoing))]
    if hosts:
        return hosts, "server"
    listed = [p for p in providers if any(domain == d or domain.endswith("." + d) for d in p.domains)]
    if listed:
        return listed, "domain"
    hosts = [
        p
        for p in providers
        if any(domain.endswith("." + s.host) for s in (*p.incoming, *p.outgoing))
    ]
    return hosts, ("server" if hosts else None)


def _by_name(providers: Sequence[Provider], wanted: str) -> tuple[list[Provider], MatchedBy | None]:
    """A name, alias or domain said exactly (alone or as words of a longer query), else a close typo of one."""
    words = wanted.split()
    owners: dict[str, list[Provider]] = {}
    for provider in providers:
        for key in _names(provider):
            owners.setdefault(key, []).append(provider)
    # The longest run of words that is a name: "google mail settings" → "google mail".
    for size in range(len(words), 0, -1):
        for start in range(len(words) - size + 1):
            found = owners.get(" ".join(words[start : start + size]))
            if found:
                return found, "name"
    single = sorted(k for k in owners if " " not in k and len(k) >= 4)
    for word in words:
        if word in _GENERIC_WORDS or not word.isalpha() or not _slips(word):
            continue
        hit = process.extractOne(
            word, single, scorer=DamerauLevenshtein.distance, processor=None, score_cutoff=_slips(word)
        )
        if hit is not None:
            return owners[hit[0]], "typo"
    return [], None


def lookup_provider(knowledge: KnowledgeBase, query: str) -> ProviderLookup:
    """The provider `query` names — by name, alias, id, domain, server host, e-mail address or a close typo
    (`gmial`) — or, when it names none, the nearest names to offer. Never a guess presented as a match:
    `xyzmail`, `hey.com` or "my work email" match nothing."""
    providers = knowledge.providers
    text = strip_invisible(query).strip()[:MAX_QUERY]
    if not text or not providers:
        return ProviderLookup(query=text, match=None)
    domain = _domain_of(text)
    if domain is not None:
        found, how = _by_domain(providers, domain)
    else:
        found, how = _by_name(providers, _key(text))
    if found:
        found = sorted(found, key=lambda p: (p.name.casefold(), p.id))
        return ProviderLookup(text, found[0], how, tuple(found[1:]), domain=domain)
    nearest: list[Provider] = []
    if domain is None:
        by_key = [(key, p) for p in providers for key in _names(p)]
        for _, _score, position in process.extract(
            _key(text), [k for k, _ in by_key], scorer=fuzz.WRatio, processor=None, score_cutoff=_NEAREST_CUTOFF,
            limit=None,
        ):
            provider = by_key[position][1]
            if provider not in nearest:
                nearest.append(provider)
            if len(nearest) == _NEAREST:
                break
    return ProviderLookup(text, None, nearest=tuple(nearest), domain=domain)


def find_provider(knowledge: KnowledgeBase, query: str) -> list[Provider]:
    """The providers `query` really names (several when they share the domain or server), best first."""
    found = lookup_provider(knowledge, query)
    return [found.match, *found.also] if found.match is not None else []


def provider_label(provider: Provider) -> str:
    domains = ", ".join(provider.domains[:3])
    return f"{provider.name} — {domains}"[:MAX_LABEL] if domains else provider.name[:MAX_LABEL]


def provider_choices(knowledge: KnowledgeBase, query: str, limit: int = 25) -> list[tuple[str, str]]:
    """Autocomplete for a provider name: names beginning with what is typed, then fuzzy matches; the value is
    the provider's id, which `find_provider` resolves exactly."""
    providers = list(knowledge.providers)
    typed = _key(query)
    if not typed:
        chosen = sorted(providers, key=lambda p: (p.name.casefold(), p.id))
    else:
        starts = [p for p in providers if any(key.startswith(typed) for key in _names(p))]
        chosen = sorted(starts, key=lambda p: (p.name.casefold(), p.id))
        chosen += [p for p in find_provider(knowledge, query) if p not in chosen]
    return [(provider_label(p), p.id[:MAX_LABEL]) for p in chosen[: max(limit, 0)]]
