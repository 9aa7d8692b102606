"""Looking up the knowledge base's tables: mail ports by protocol, number or security, and providers by name.

`find_ports` reads a query as constraints ("smtp starttls" = protocol SMTP and security STARTTLS); the
autocomplete helpers return `(label, value)` pairs whose value, passed back to `find_ports` or
`find_provider`, finds exactly the row that was picked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rapidfuzz import fuzz, process
from rapidfuzz.distance import DamerauLevenshtein

from bot.knowledge.model import SECURITY_LABELS
from bot.matching.normalize import strip_invisible

if TYPE_CHECKING:
    from bot.knowledge.model import KnowledgeBase, PortRow, Provider

MAX_LABEL = 100  # Discord's limit for an autocomplete choice's name and value

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
    """Autocomplete for a port query: the rows it finds, then rows whose label resembles what is typed."""
    rows = list(knowledge.ports)
    if not query.strip():
        chosen = rows
    else:
        chosen = find_ports(knowledge, query)
        words = _port_words(query)
        typed = " ".join(words)
        # A number being typed ("99") matches the ports it begins.
        digits = [w for w in words if w.isdigit()]
        chosen += [r for r in rows if r not in chosen and any(str(r.port).startswith(d) for d in digits)]
        labels = [port_label(r).casefold() for r in rows]
        for _, _score, index in process.extract(
            typed, labels, scorer=fuzz.partial_ratio, processor=None, score_cutoff=75, limit=None
        ):
            if rows[index] not in chosen:
                chosen.append(rows[index])
    return [(port_label(r), port_value(r)) for r in chosen[: max(limit, 0)]]


# --- Providers --------------------------------------------------------------------------------------------

EXACT = 100.0  # the id, the name, an alias or a domain
DOMAIN_WORD = 96.0  # the first word of a domain ("hotmail" from hotmail.com)
SERVER_HOST = 95.0  # one of its server host names (shared hosts name several providers)
FUZZY_CUTOFF = 75.0
TYPO_SHARE = 0.95  # a near miss ("hotmial") scores a little below an exact name
WORD_SHARE = 0.98  # one word of a longer query ("gmail smtp settings") names the provider a little less surely


def _key(text: str) -> str:
    return " ".join(re.findall(r"[^\W_]+", text.casefold()))


def _names(provider: Provider) -> list[tuple[str, float]]:
    """Every way of naming a provider, with the score an exact hit earns."""
    names = [(provider.id, EXACT), (provider.name, EXACT), *((a, EXACT) for a in provider.aliases)]
    names += [(d, EXACT) for d in provider.domains]
    names += [(d.split(".")[0], DOMAIN_WORD) for d in provider.domains]
    return [(_key(n), score) for n, score in names if _key(n)]


def _domain_of(query: str) -> str | None:
    text = query.strip().casefold()
    if "@" in text:
        text = text.rsplit("@", 1)[1]
    text = text.strip(" .<>\"'")
    return text if re.fullmatch(r"[a-z0-9-]+(?:\.[a-z0-9-]+)+", text) else None


def find_provider(knowledge: KnowledgeBase, name: str) -> list[tuple[Provider, float]]:
    """Providers named by `name` (a name, alias, id, domain, host name or e-mail address; typos allowed), best
    first, with a score 0-100."""
    providers = knowledge.providers
    name = strip_invisible(name)
    if not name.strip() or not providers:
        return []
    best: dict[int, float] = {}

    def note(index: int, score: float) -> None:
        best[index] = max(best.get(index, 0.0), score)

    # An address or a domain settles it when the table lists that domain or host.
    domain = _domain_of(name)
    if domain is not None:
        for index, provider in enumerate(providers):
            if any(domain == d or domain.endswith("." + d) for d in provider.domains):
                note(index, EXACT)
            hosts = {s.host for s in (*provider.incoming, *provider.outgoing)}
            if any(domain == h or domain.endswith("." + h) for h in hosts):
                note(index, SERVER_HOST)
    if not best:
        choices: list[str] = []
        owners: list[tuple[int, float]] = []
        for index, provider in enumerate(providers):
            for key, exact_score in _names(provider):
                choices.append(key)
                owners.append((index, exact_score))
        # The whole query, then each of its words ("gmail smtp settings"), a little less sure.
        wanted = _key(name)
        tries = [(wanted, 1.0), *((w, WORD_SHARE) for w in dict.fromkeys(wanted.split()) if w != wanted)]
        for text, share in tries:
            if len(text) < 2:
                continue
            for _, similarity, position in process.extract(
                text, choices, scorer=fuzz.ratio, processor=None, score_cutoff=FUZZY_CUTOFF, limit=None
            ):
                index, exact_score = owners[position]
                note(index, (exact_score if similarity == 100 else similarity * TYPO_SHARE) * share)
    if not best:
        return []
    top = max(best.values())
    # Beside an exact hit, look-alikes ("ymail" for "gmail") are noise.
    keep = {i: score for i, score in best.items() if top < EXACT * WORD_SHARE or score >= top - 10}
    order = sorted(keep, key=lambda i: (-keep[i], providers[i].name.casefold(), providers[i].id))
    return [(providers[i], round(keep[i], 1)) for i in order]


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
        starts = [p for p in providers if any(key.startswith(typed) for key, _ in _names(p))]
        chosen = sorted(starts, key=lambda p: (p.name.casefold(), p.id))
        chosen += [p for p, _ in find_provider(knowledge, query) if p not in chosen]
    return [(provider_label(p), p.id[:MAX_LABEL]) for p in chosen[: max(limit, 0)]]
