"""Reading text as the matcher compares it: canonical terms, error codes, ports, providers, and the words that
place a message in or out of e-mail.

`Analyzer.analyze` turns a normalized message (or a phrasing of the knowledge base) into `Terms`: synonyms
merged, misspellings corrected against the knowledge base's own words with rapidfuzz, light stemming, filler
words dropped, provider names taken out and noted as `@provider` terms.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, TypeVar

from rapidfuzz import process
from rapidfuzz.distance import OSA

from bot.matching.normalize import Normalized, normalize
from bot.matching.tuning import MAX_TERMS, MAX_TYPO_LOOKUPS, NAMING_DOMAINS, TWO_SLIPS_LENGTH, TYPO_MIN_LENGTH
from bot.matching.vocabulary import (
    COMMON_WORDS,
    MAIL_PORTS,
    MAIL_TERMS,
    OFF_DOMAIN_PORTS,
    OFF_DOMAIN_TERMS,
    PHRASES,
    STOPWORDS,
    SUFFIXES,
    SYNONYMS,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping, Sequence

    from bot.knowledge.model import Provider

# --- Words ------------------------------------------------------------------------------------------------


@lru_cache(maxsize=8192)  # a pure function of one word; words repeat endlessly
def stem(token: str) -> str:
    """A light suffix stripper: 'connecting', 'connected', 'connection' meet; never below three letters."""
    if len(token) < 4 or not token.isalpha():
        return token
    for suffix in SUFFIXES:
        if token.endswith(suffix) and len(token) - len(suffix) >= 3:
            if suffix == "s" and token.endswith(("ss", "us", "is")):
                return token
            if suffix == "ies":
                return token[:-3] + "y"
            return token[: -len(suffix)]
    return token


def apply_synonyms(tokens: Iterable[str]) -> list[str]:
    out: list[str] = []
    for token in tokens:
        out.extend(SYNONYMS.get(token, token).split())
    return out


_Found = TypeVar("_Found")


def _longest_runs(
    tokens: Sequence[str], table: Mapping[tuple[str, ...], _Found], longest: int
) -> Iterator[tuple[_Found | None, str]]:
    """Walk `tokens` taking, at each place, the longest run of them that `table` knows (its value, "");
    a token that starts no known run comes alone (None, the token)."""
    i = 0
    while i < len(tokens):
        for size in range(min(longest, len(tokens) - i), 0, -1):
            found = table.get(tuple(tokens[i : i + size]))
            if found:
                yield found, ""
                i += size
                break
        else:
            yield None, tokens[i]
            i += 1


_LONGEST_PHRASE = max(len(key) for key in PHRASES)


def _merge_phrases(tokens: Sequence[str]) -> list[str]:
    out: list[str] = []
    for replacement, token in _longest_runs(tokens, PHRASES, _LONGEST_PHRASE):
        out.extend(replacement.split() if replacement is not None else (token,))
    return out


# Provider names that are also everyday words or other products ("Outlook" the program, "live", "me").
_AMBIGUOUS_NAMES = STOPWORDS | COMMON_WORDS | {"outlook", "live", "email", "mail"}
# A host named like this (imap.example.com) is a mail server.
_MAIL_HOST_LABELS = frozenset({"imap", "imap4", "smtp", "pop", "pop3", "mail", "mx", "smtp-mail"})
# Hex codes of Outlook's mail transports (0x800CCCxx) and MAPI (0x8004xxxx) place a message in e-mail; other
# HRESULTs are Windows' own (0x80092012, CRYPT_E_NO_REVOCATION_CHECK, comes from curl and git as often as from a
# mail client). SMTP reply codes always count.
_MAIL_HEX_PREFIXES = ("0x800ccc", "0x8004")


def _is_mail_code(code: str) -> bool:
    return not code.startswith("0x") or code.startswith(_MAIL_HEX_PREFIXES)


def _slips(length: int) -> int:
    """How many typing slips a word of this length may carry and still be recognised."""
    return 2 if length >= TWO_SLIPS_LENGTH else 1


_SECURITY_WORDS: Mapping[str, str] = {
    "ssl": "ssl",
    "implicit": "ssl",
    "starttls": "starttls",
    "stls": "starttls",
}


@dataclass(frozen=True, slots=True)
class Terms:
    """A message or a phrasing, reduced to what the scorer compares."""

    terms: tuple[str, ...]  # canonical content terms, in order of first appearance, no repeats
    surface: str  # the words in order, fillers kept, unstemmed: for rapidfuzz's order-aware scorers
    codes: frozenset[str]
    ports: frozenset[int]  # mail ports named
    mismatch: bool  # a port named together with a security it is not used with ("ssl on 587")
    mail_signals: int
    off_signals: int


@dataclass(frozen=True, slots=True)
class ProviderNames:
    """Provider names, aliases and domains, as term sequences and as domains."""

    by_terms: Mapping[tuple[str, ...], frozenset[str]]  # ("google", "mail") → {"gmail"}
    by_domain: Mapping[str, frozenset[str]]  # "googlemail.com" → {"gmail"}
    longest: int

    @staticmethod
    def build(providers: Sequence[Provider]) -> ProviderNames:
        by_terms: dict[tuple[str, ...], set[str]] = defaultdict(set)
        by_domain: dict[str, set[str]] = defaultdict(set)
        for provider in providers:
            for name in (provider.name, *provider.aliases):
                norm = normalize(name)
                terms = tuple(apply_synonyms(_merge_phrases(apply_synonyms(norm.tokens))))
                if terms and not (len(terms) == 1 and terms[0] in _AMBIGUOUS_NAMES):
                    by_terms[terms].add(provider.id)
                for domain in norm.domains:  # a name like "Outlook.com" is a domain
                    by_domain[domain].add(provider.id)
            for rank, domain in enumerate(provider.domains):
                by_domain[domain.casefold()].add(provider.id)
                # A domain's first label names the provider only for its main domains ("hotmail" of hotmail.com):
                # a row can list a hundred domains, and "inbox", "online" or "engineer" name no provider.
                label = domain.casefold().split(".")[0]
                if rank < NAMING_DOMAINS and label not in _AMBIGUOUS_NAMES and len(label) >= 3:
                    by_terms[(label,)].add(provider.id)
            for server in (*provider.incoming, *provider.outgoing):
                by_domain[server.host.casefold()].add(provider.id)
        return ProviderNames(
            {k: frozenset(v) for k, v in by_terms.items()},
            {k: frozenset(v) for k, v in by_domain.items()},
            max((len(k) for k in by_terms), default=1),
        )

    def find(self, tokens: Sequence[str], domains: Sequence[str]) -> tuple[list[str], list[str]]:
        """The providers named (by domain or by name) and the tokens left once their names are taken out."""
        found: dict[str, None] = {}
        for domain in domains:
            parts = domain.split(".")
            for start in range(len(parts) - 1):  # smtp.gmail.com, then gmail.com
                for provider_id in sorted(self.by_domain.get(".".join(parts[start:]), ())):
                    found[provider_id] = None
        rest: list[str] = []
        for named, token in _longest_runs(tokens, self.by_terms, self.longest):
            if named is not None:
                found.update(dict.fromkeys(sorted(named)))
            else:
                rest.append(token)
        return list(found), rest


class Analyzer:
    """Turns text into `Terms` with the vocabulary of one knowledge base. Read-only once built."""

    def __init__(
        self,
        providers: ProviderNames,
        port_security: Mapping[int, frozenset[str]],
        vocabulary: Iterable[str] = (),
    ) -> None:
        self.providers = providers
        self.port_security = port_security
        self.mail_ports = frozenset(MAIL_PORTS | set(port_security))
        self.vocabulary = frozenset(vocabulary)
        # Words never "corrected": the knowledge base's own, everyday ones, and the names of things in and out
        # of mail ("steam" is a game platform, not a typo of "team").
        self.known = self.vocabulary | STOPWORDS | COMMON_WORDS | MAIL_TERMS | OFF_DOMAIN_TERMS
        # Candidates grouped by length: a word with k slips differs in length by at most k, so each lookup
        # reads only the words of nearby lengths.
        by_length: dict[int, list[str]] = defaultdict(list)
        for word in sorted(self.known):
            if len(word) >= TYPO_MIN_LENGTH - 1 and word.isalpha():
                by_length[len(word)].append(word)
        longest = max(by_length, default=0)
        self._typo_choices: Mapping[int, tuple[str, ...]] = {
            length: tuple(
                word
                for near in range(length - _slips(length), length + _slips(length) + 1)
                for word in by_length.get(near, ())
            )
            for length in range(TYPO_MIN_LENGTH, longest + 3)
        }

    def with_vocabulary(self, vocabulary: Iterable[str]) -> Analyzer:
        return Analyzer(self.providers, self.port_security, vocabulary)

    def _correct(self, token: str) -> str:
        # Optimal string alignment counts a swapped pair of letters as one slip: "gmial", "recieve",
        # "thunderbrid". One slip per word, two in long words. A four-letter word is only unswapped ("prot" →
        # "port"): "main" must not become "mail", nor "show" become "how".
        choices = self._typo_choices.get(len(token))
        if not choices:
            return token
        found = process.extractOne(token, choices, scorer=OSA.distance, processor=None, score_cutoff=_slips(len(token)))
        if found is None:
            return token
        word = found[0]
        if len(token) == 4 and sorted(word) != sorted(token):
            return token
        return word

    def analyze(self, norm: Normalized, *, correct: bool) -> Terms:
        tokens = apply_synonyms(norm.tokens)
        if correct and self._typo_choices:
            lookups = 0
            corrected: list[str] = []
            for token in tokens:
                if (
                    token in self.known
                    or len(token) < TYPO_MIN_LENGTH
                    or not token.isalpha()
                    or lookups >= MAX_TYPO_LOOKUPS
                ):
                    corrected.append(token)
                    continue
                lookups += 1
                corrected.extend(apply_synonyms([self._correct(token)]))
            tokens = corrected
        tokens = apply_synonyms(_merge_phrases(tokens))
        providers, tokens = self.providers.find(tokens, norm.domains)
        mail_hosts = any(domain.split(".", 1)[0] in _MAIL_HOST_LABELS for domain in norm.domains)
        ports = frozenset(n for n in norm.numbers if n in self.mail_ports)
        securities = {_SECURITY_WORDS[t] for t in tokens if t in _SECURITY_WORDS}
        mismatch = len(securities) == 1 and any(
            self.port_security.get(port) and not securities & self.port_security[port] for port in ports
        )
        mail_signals = (
            len({t for t in tokens if t in MAIL_TERMS})
            + len(providers)
            + len(ports)
            + (1 if any(_is_mail_code(code) for code in norm.codes) else 0)
            + (1 if mail_hosts else 0)
        )
        off_signals = len({t for t in tokens if t in OFF_DOMAIN_TERMS}) + len(
            {n for n in norm.numbers if n in OFF_DOMAIN_PORTS}
        )
        terms: dict[str, None] = {}
        for token in tokens:
            if token in STOPWORDS:
                continue
            terms[stem(token)] = None
            if len(terms) >= MAX_TERMS:
                break
        named = ["@" + provider_id for provider_id in providers]
        terms.update(dict.fromkeys(named))
        surface = " ".join([*tokens[: MAX_TERMS * 2], *named])
        return Terms(tuple(terms), surface, norm.codes, ports, mismatch, mail_signals, off_signals)



__all__ = ["Analyzer", "ProviderNames", "Terms", "apply_synonyms", "stem"]
