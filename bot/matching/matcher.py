"""Matching a question or a pasted error to knowledge-base entries, and deciding whether to answer unasked.

How a message is scored (the index behind it is built once per knowledge base, in `Matcher.__init__`):

1. `normalize` cleans the text; `_Analyzer` turns it into canonical terms (synonyms merged, misspellings
   corrected against the knowledge base's own words with rapidfuzz, light stemming, filler words dropped) and
   notes error codes, port numbers, providers, and words that place the message in or out of e-mail.
2. Every phrasing of an entry (title, `asks`, `errors`) is compared with the message as a bag of terms. Each
   term weighs by how rare it is across entries, so "0x800ccc0e" or "starttls" count for more than "server".
   A phrasing scores high when the message holds most of its weight (recall) and the entry explains most of
   the message (precision); a long, specific phrasing (an error text) also scores alone inside chatter.
3. rapidfuzz then reads word order on the best candidates (so "Failed to connect to server" and "The
   connection to the server failed" stay apart), finds near-verbatim phrasings despite typos, and finds error
   texts inside long pastes.
4. An error code in the message decides between entries; a mail port favours the entries about that port; a
   port paired with the wrong security ("SSL on 587") favours the entries that explain such mismatches.
5. `confident` needs a high score, a clear lead over the runner-up, and a message about e-mail: text about
   SSH, databases, games or websites is never answered unasked, however well its words match.
"""

from __future__ import annotations

import heapq
import math
from bisect import bisect_left, bisect_right
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Literal, TypeVar

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from bot.matching.normalize import Normalized, normalize
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
from bot.settings import Confidence

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping, Sequence

    from bot.knowledge.model import Entry, KnowledgeBase, Provider

# --- Tuning (measured on tests/data/devset.yaml with the shipped knowledge; benchmarks/matcher_results.md)

FLOOR = 50.0  # an explicit question lists entries at or above this
NEAR_FLOOR = 30.0  # when none reaches the floor, entries this close may still be offered as "did you mean"
MAX_SUGGESTIONS = 4


@dataclass(frozen=True, slots=True)
class _Level:
    score: float  # the best entry's score must reach this
    margin: float  # … and lead the runner-up by this much (unless it is near-certain)
    neutral_score: float  # a message without a single e-mail word needs this instead


_LEVELS: Mapping[Confidence, _Level] = {
    Confidence.STRICT: _Level(score=70.0, margin=8.0, neutral_score=101.0),  # never without an e-mail word
    Confidence.NORMAL: _Level(score=56.0, margin=3.0, neutral_score=64.0),
    Confidence.RELAXED: _Level(score=50.0, margin=2.0, neutral_score=58.0),
}
CERTAIN = 90.0  # at or above this the margin rule is waived: two entries can both fit well
CODE_SCORE = 95.0  # the message has an error code that only this entry lists
SHARED_CODE_SCORE = 80.0  # … that several entries list: the words decide between them
CODE_WORDS_SHARE = 0.2  # how much the words add to a shared code's lift
OTHER_CODE_PENALTY = 15.0  # the message has a code; this entry lists only other codes
PORT_BONUS = 6.0  # the message names a mail port this entry is about
MISMATCH_BONUS = 18.0  # the message pairs a port with the wrong security; this entry explains such pairs
ORDER_SHARE = 0.1  # how much word order (rapidfuzz on the surface text) counts in a phrasing's score
REFINE_ENTRIES = 12  # word order is read for this many leading entries
MIN_RECALL = 0.15  # a phrasing holding less of its weight than this is not scored at all
STANDALONE_WEIGHT = 9.0  # a phrasing this heavy (about three rare terms) is specific enough to stand alone
COMMON_WEIGHT = 0.6  # the most an everyday word can weigh
TYPO_MIN_LENGTH = 4
MAX_TERMS = 400  # distinct terms read from one message: bounds the cost of huge pastes
MAX_TYPO_LOOKUPS = 60
VERBATIM = 88.0  # whole-message similarity at which a message counts as one of the phrasings
VERBATIM_LENGTH = VERBATIM / (200 - VERBATIM)  # the shortest/longest length ratio that can reach it
SHORT_MESSAGE = 160  # characters of surface text up to which whole-message similarity is meaningful
PASTE_BAG = 20.0  # an error text is looked for inside a long paste once its words alone score this much


@dataclass(frozen=True, slots=True)
class Scored:
    entry: Entry
    score: float  # 0-100, rounded to 1 decimal


@dataclass(frozen=True, slots=True)
class MatchResult:
    query: str
    ranked: tuple[Scored, ...]  # best first; only entries at or above the floor
    confident: bool  # the bot may answer unasked at the level requested
    near: tuple[Scored, ...] = ()  # the best few below the floor, when none reached it

    @property
    def best(self) -> Scored | None:
        return self.ranked[0] if self.ranked else None

    @property
    def suggestions(self) -> tuple[Scored, ...]:
        """'Did you mean': the other candidates, or the nearest below the floor when none passed it."""
        if self.ranked:
            return self.ranked[1 : 1 + MAX_SUGGESTIONS]
        return self.near[:MAX_SUGGESTIONS]


# --- Terms ------------------------------------------------------------------------------------------------


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


def _apply_synonyms(tokens: Iterable[str]) -> list[str]:
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


def _slips(length: int) -> int:
    """How many typing slips a word of this length may carry and still be recognised."""
    return 2 if length >= 9 else 1


_SECURITY_WORDS: Mapping[str, str] = {
    "ssl": "ssl",
    "implicit": "ssl",
    "starttls": "starttls",
    "stls": "starttls",
}


@dataclass(frozen=True, slots=True)
class _Terms:
    """A message or a phrasing, reduced to what the scorer compares."""

    terms: tuple[str, ...]  # canonical content terms, in order of first appearance, no repeats
    surface: str  # the words in order, fillers kept, unstemmed: for rapidfuzz's order-aware scorers
    codes: frozenset[str]
    ports: frozenset[int]  # mail ports named
    mismatch: bool  # a port named together with a security it is not used with ("ssl on 587")
    mail_signals: int
    off_signals: int


@dataclass(frozen=True, slots=True)
class _ProviderNames:
    """Provider names, aliases and domains, as term sequences and as domains."""

    by_terms: Mapping[tuple[str, ...], frozenset[str]]  # ("google", "mail") → {"gmail"}
    by_domain: Mapping[str, frozenset[str]]  # "googlemail.com" → {"gmail"}
    longest: int

    @staticmethod
    def build(providers: Sequence[Provider]) -> _ProviderNames:
        by_terms: dict[tuple[str, ...], set[str]] = defaultdict(set)
        by_domain: dict[str, set[str]] = defaultdict(set)
        for provider in providers:
            for name in (provider.name, *provider.aliases):
                norm = normalize(name)
                terms = tuple(_apply_synonyms(_merge_phrases(_apply_synonyms(norm.tokens))))
                if terms and not (len(terms) == 1 and terms[0] in _AMBIGUOUS_NAMES):
                    by_terms[terms].add(provider.id)
                for domain in norm.domains:  # a name like "Outlook.com" is a domain
                    by_domain[domain].add(provider.id)
            for domain in provider.domains:
                by_domain[domain.casefold()].add(provider.id)
                label = domain.casefold().split(".")[0]
                if label not in _AMBIGUOUS_NAMES and len(label) >= 3:
                    by_terms[(label,)].add(provider.id)
            for server in (*provider.incoming, *provider.outgoing):
                by_domain[server.host.casefold()].add(provider.id)
        return _ProviderNames(
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


class _Analyzer:
    """Turns text into `_Terms` with the vocabulary of one knowledge base. Read-only once built."""

    def __init__(
        self,
        providers: _ProviderNames,
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

    def with_vocabulary(self, vocabulary: Iterable[str]) -> _Analyzer:
        return _Analyzer(self.providers, self.port_security, vocabulary)

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

    def analyze(self, norm: Normalized, *, correct: bool) -> _Terms:
        tokens = _apply_synonyms(norm.tokens)
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
                corrected.extend(_apply_synonyms([self._correct(token)]))
            tokens = corrected
        tokens = _apply_synonyms(_merge_phrases(tokens))
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
            + (1 if norm.codes else 0)
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
        return _Terms(tuple(terms), surface, norm.codes, ports, mismatch, mail_signals, off_signals)


# --- The index --------------------------------------------------------------------------------------------

_Kind = Literal["ask", "error"]


@dataclass(frozen=True, slots=True)
class _Phrase:
    entry: int  # index into Matcher._entries
    source: str  # as written in the knowledge base
    terms: frozenset[str]
    surface: str
    weight: float  # the summed weight of its terms
    kind: _Kind
    exact: frozenset[str]  # its terms that a typo cannot stand for: codes, numbers, providers


class Matcher:
    """An index over one knowledge base. Immutable once built: a reload builds a new Matcher to swap in."""

    def __init__(self, knowledge: KnowledgeBase) -> None:
        self._entries: tuple[Entry, ...] = tuple(knowledge.entries[k] for k in sorted(knowledge.entries))
        position = {entry.id: i for i, entry in enumerate(self._entries)}
        self._position: Mapping[str, int] = position
        port_security: dict[int, set[str]] = defaultdict(set)
        table_ports: dict[int, set[int]] = defaultdict(set)
        for row in knowledge.ports:
            port_security[row.port].add(row.security)
            if row.entry in position:
                table_ports[position[row.entry]].add(row.port)
        analyzer = _Analyzer(
            _ProviderNames.build(knowledge.providers), {p: frozenset(s) for p, s in port_security.items()}
        )
        provider_entry = {p.id: position[p.entry] for p in knowledge.providers if p.entry in position}
        # Titles and tags repeat across entries and are read twice: normalize each text once.
        normalized: dict[str, Normalized] = {}

        def norm_of(text: str) -> Normalized:
            found = normalized.get(text)
            if found is None:
                found = normalized[text] = normalize(text)
            return found

        # Every phrasing as terms, without typo correction: the knowledge base is the reference spelling.
        read: list[tuple[int, str, _Terms, _Kind]] = []
        entry_terms: list[set[str]] = [set() for _ in self._entries]
        entry_codes: list[set[str]] = [set() for _ in self._entries]
        mismatch_entries: set[int] = set()
        vocabulary: set[str] = set()
        for index, entry in enumerate(self._entries):
            texts: list[tuple[str, _Kind]] = [
                (entry.title, "ask"),
                *((a, "ask") for a in entry.asks),
                *((e, "error") for e in entry.errors),
            ]
            for text, kind in texts:
                norm = norm_of(text)
                terms = analyzer.analyze(norm, correct=False)
                vocabulary.update(_apply_synonyms(norm.tokens))
                if not terms.terms:
                    continue
                read.append((index, text, terms, kind))
                entry_terms[index].update(terms.terms)
                entry_codes[index].update(terms.codes)
                if terms.mismatch:
                    mismatch_entries.add(index)
            # Tags name topics: they tell what an entry covers (its vocabulary), not how people ask.
            for tag in entry.tags:
                norm = norm_of(tag.replace("-", " "))
                vocabulary.update(_apply_synonyms(norm.tokens))
                entry_terms[index].update(analyzer.analyze(norm, correct=False).terms)
            # The ports an entry is about: the ports table says so, or its title names them.
            table_ports[index].update(analyzer.analyze(norm_of(entry.title), correct=False).ports)
        for provider_id, index in provider_entry.items():
            entry_terms[index].add("@" + provider_id)
        for provider in knowledge.providers:
            for name in (provider.name, *provider.aliases, *provider.domains):
                vocabulary.update(normalize(name.replace(".", " ")).tokens)
        self._analyzer = analyzer.with_vocabulary(vocabulary)

        # Term weights: inverse entry frequency, so a term found in every entry weighs little.
        count = max(len(self._entries), 1)
        frequency: dict[str, int] = defaultdict(int)
        for terms_of_entry in entry_terms:
            for term in terms_of_entry:
                frequency[term] += 1
        common = {stem(w) for w in COMMON_WORDS}
        self._weight: Mapping[str, float] = {
            t: min(math.log(1 + count / f), COMMON_WEIGHT) if t in common else math.log(1 + count / f)
            for t, f in frequency.items()
        }
        self._common: frozenset[str] = frozenset(common)
        # A word the knowledge base never uses weighs like a fairly rare one: content no entry explains.
        self._unknown_weight = math.log(1 + count / 3)
        self._entry_terms: tuple[frozenset[str], ...] = tuple(frozenset(t) for t in entry_terms)

        phrases: list[_Phrase] = []
        seen: set[tuple[int, str]] = set()
        for index, text, terms, kind in read:
            if (index, terms.surface) in seen:
                continue
            seen.add((index, terms.surface))
            weight = sum(self._weight[t] for t in terms.terms)
            exact = frozenset(t for t in terms.terms if not t.isalpha())
            phrases.append(_Phrase(index, text, frozenset(terms.terms), terms.surface, weight, kind, exact))
        self._phrases: tuple[_Phrase, ...] = tuple(phrases)
        self._surfaces: tuple[str, ...] = tuple(p.surface for p in phrases)
        self._surface_order: tuple[int, ...] = tuple(
            sorted(range(len(phrases)), key=lambda i: (len(self._surfaces[i]), i))
        )
        self._surface_lengths: tuple[int, ...] = tuple(len(self._surfaces[i]) for i in self._surface_order)
        self._surfaces_by_length: tuple[str, ...] = tuple(self._surfaces[i] for i in self._surface_order)
        self._error_phrases: frozenset[int] = frozenset(
            i for i, p in enumerate(phrases) if p.kind == "error" and len(p.terms) >= 3
        )
        postings: dict[str, list[int]] = defaultdict(list)
        for i, phrase in enumerate(phrases):
            for term in sorted(phrase.terms):
                postings[term].append(i)
        self._postings: Mapping[str, tuple[int, ...]] = {t: tuple(v) for t, v in postings.items()}
        entry_postings: dict[str, list[int]] = defaultdict(list)
        for index, own in enumerate(self._entry_terms):
            for term in sorted(own):
                entry_postings[term].append(index)
        self._entry_postings: Mapping[str, tuple[int, ...]] = {t: tuple(v) for t, v in entry_postings.items()}
        self._phrase_entry: tuple[int, ...] = tuple(p.entry for p in phrases)
        self._phrase_inverse_weight: tuple[float, ...] = tuple(1.0 / p.weight if p.weight else 0.0 for p in phrases)

        code_entries: dict[str, set[int]] = defaultdict(set)
        for index, codes in enumerate(entry_codes):
            for code in codes:
                code_entries[code].add(index)
        self._code_entries: Mapping[str, frozenset[int]] = {c: frozenset(v) for c, v in code_entries.items()}
        self._entry_has_codes: tuple[bool, ...] = tuple(bool(c) for c in entry_codes)
        self._entry_ports: tuple[frozenset[int], ...] = tuple(
            frozenset(table_ports.get(i, ())) for i in range(len(self._entries))
        )
        self._mismatch_entries: frozenset[int] = frozenset(mismatch_entries)

        # For autocomplete: every phrasing as plain lower-case words, for prefix and rapidfuzz matching.
        labels: list[tuple[int, str]] = []
        for index, entry in enumerate(self._entries):
            for text in (entry.title, entry.id.replace("-", " "), *entry.asks, *entry.errors):
                labels.append((index, norm_of(text).text))
        self._label_entries: tuple[int, ...] = tuple(i for i, _ in labels)
        self._label_texts: tuple[str, ...] = tuple(text for _, text in labels)

    @property
    def entries(self) -> tuple[Entry, ...]:
        return self._entries

    # --- Scoring -------------------------------------------------------------------------------------------

    def _term_weight(self, term: str) -> float:
        weight = self._weight.get(term)
        if weight is not None:
            return weight
        # Unknown to the knowledge base: an everyday word, a mail word ("nodemailer") or a short scrap
        # (often a misspelt filler: "wich", "tak") is context; anything else is content no entry explains.
        if term in self._common or term in MAIL_TERMS or len(term) <= 4:
            return COMMON_WEIGHT
        return self._unknown_weight

    def _bag_scores(self, terms: _Terms) -> tuple[dict[int, float], dict[int, float], dict[int, list[int]]]:
        """By weight of terms alone (0-100): each phrasing's score, each entry's best, each entry's phrasings.

        Phrasings holding under MIN_RECALL of their weight are skipped: they could not score above ~25.
        """
        weights = self._weight
        query_weight = sum(self._term_weight(t) for t in terms.terms) or 1.0
        # Weight of the message each phrasing holds (for recall), and each entry holds (for precision).
        shared: dict[int, float] = defaultdict(float)
        explained: dict[int, float] = defaultdict(float)
        for term in terms.terms:
            weight = weights.get(term)
            if weight is None:
                continue
            for phrase_index in self._postings.get(term, ()):
                shared[phrase_index] += weight
            for entry in self._entry_postings[term]:
                explained[entry] += weight
        half_inverse = 0.5 / query_weight
        phrase_entry = self._phrase_entry
        inverse_weight = self._phrase_inverse_weight
        scores: dict[int, float] = {}
        bag: dict[int, float] = {}
        by_entry: dict[int, list[int]] = defaultdict(list)
        for phrase_index, overlap in shared.items():
            recall = overlap * inverse_weight[phrase_index]
            if recall < MIN_RECALL:
                continue
            recall = min(recall, 1.0)
            entry = phrase_entry[phrase_index]
            # How much of the message the entry explains and this one phrasing does: of two entries whose
            # phrasings both sit inside a pasted error, the one covering more of it wins.
            precision = (explained[entry] + overlap) * half_inverse
            precision = min(precision, 1.0)
            score = 2 * precision * recall / (precision + recall)
            # A heavy phrasing (an error text) found whole inside chatter stands on its own.
            alone = recall * recall * (overlap / STANDALONE_WEIGHT if overlap < STANDALONE_WEIGHT else 1.0)
            score = max(score, alone)
            score *= 100.0
            scores[phrase_index] = score
            by_entry[entry].append(phrase_index)
            if score > bag.get(entry, -1.0):
                bag[entry] = score
        return scores, bag, by_entry

    def _score(self, terms: _Terms) -> dict[int, float]:
        """Each candidate entry's score, 0-100 (unrounded)."""
        if not terms.terms and not terms.codes:
            return {}
        phrase_scores, bag, by_entry = self._bag_scores(terms)
        # Entries beyond the leading few keep their bag score, discounted as if word order matched half-way.
        best = {entry: score * (1 - ORDER_SHARE / 2) for entry, score in bag.items()}

        # Word order on the leading entries' best phrasings: whole-message similarity for a short message,
        # the phrasing found inside a long one.
        short = len(terms.surface) <= SHORT_MESSAGE
        leaders = heapq.nsmallest(REFINE_ENTRIES, bag, key=lambda e: (-bag[e], e))
        candidates: list[int] = []
        for entry in leaders:
            own = heapq.nsmallest(3, by_entry[entry], key=lambda i: (-phrase_scores[i], i))
            candidates.extend(i for i in own if phrase_scores[i] >= bag[entry] - 20)
        refined: dict[int, float] = {}
        if terms.surface and candidates:
            for _, similarity, position in process.extract(
                terms.surface,
                [self._surfaces[i] for i in candidates],
                scorer=fuzz.ratio if short else fuzz.partial_ratio,
                processor=None,  # both sides are normalized already
                limit=None,
            ):
                phrase_index = candidates[position]
                entry = self._phrases[phrase_index].entry
                blended = (1 - ORDER_SHARE) * phrase_scores[phrase_index] + ORDER_SHARE * similarity
                refined[entry] = max(refined.get(entry, 0.0), blended)
        best.update(refined)

        if terms.surface and short:
            # The message is one of the phrasings, give or take a typo the word-level correction missed.
            exact = {t for t in terms.terms if not t.isalpha()}
            # fuzz.ratio reaches 88 only between texts whose lengths are within 79% of each other.
            length = len(terms.surface)
            low = bisect_left(self._surface_lengths, math.ceil(length * VERBATIM_LENGTH))
            high = bisect_right(self._surface_lengths, math.floor(length / VERBATIM_LENGTH))
            nearby = self._surface_order[low:high]
            for _, similarity, position in process.extract(
                terms.surface,
                self._surfaces_by_length[low:high],
                scorer=fuzz.ratio,
                processor=None,
                score_cutoff=VERBATIM,
                limit=None,
            ):
                phrase = self._phrases[nearby[position]]
                # Codes, numbers and providers must be the same: "gmx" is not a typo of "gmail" here.
                if phrase.exact <= exact:
                    best[phrase.entry] = max(best.get(phrase.entry, 0.0), similarity)
        elif terms.surface:
            # A long paste holds an error text, typos and all. Only error texts that share a good part of
            # their words with the paste can be in it, so only those are searched for.
            errors = [i for i in phrase_scores if i in self._error_phrases and phrase_scores[i] >= PASTE_BAG]
            for _, similarity, position in process.extract(
                terms.surface,
                [self._surfaces[i] for i in errors],
                scorer=fuzz.partial_ratio,
                processor=None,
                score_cutoff=90,
                limit=None,
            ):
                phrase = self._phrases[errors[position]]
                scaled = similarity * min(1.0, phrase.weight / STANDALONE_WEIGHT)
                best[phrase.entry] = max(best.get(phrase.entry, 0.0), scaled)

        self._adjust_for_codes(terms, best)
        if terms.ports and not terms.mismatch:
            for entry in list(best):
                if terms.ports & self._entry_ports[entry]:
                    best[entry] += PORT_BONUS
        if terms.mismatch:
            # "STARTTLS on 993" asks about the pairing, not about port 993.
            for entry in list(best):
                if entry in self._mismatch_entries:
                    best[entry] += MISMATCH_BONUS
                elif terms.ports & self._entry_ports[entry]:
                    best[entry] -= PORT_BONUS
        return {entry: min(100.0, score) for entry, score in best.items() if score > 0}

    def _adjust_for_codes(self, terms: _Terms, best: dict[int, float]) -> None:
        """An error code settles which entry answers; entries about other codes lose ground."""
        if not terms.codes:
            return
        base = dict(best)  # what the words said, before any code
        coded: set[int] = set()
        for code in sorted(terms.codes):
            listing = self._code_entries.get(code, frozenset())
            coded |= listing
            # A code only one entry lists settles it. A shared one lifts its entries and lets the words choose;
            # a full reply ("530 5.7.0") or an Outlook code says more than a bare status code ("5.7.0").
            full = " " in code or code.startswith("0x")
            for entry in sorted(listing):
                if len(listing) == 1:
                    lifted = CODE_SCORE
                else:
                    shared = SHARED_CODE_SCORE if full else SHARED_CODE_SCORE - 10
                    lifted = min(shared + CODE_WORDS_SHARE * base.get(entry, 0.0), 100.0)
                best[entry] = max(best.get(entry, 0.0), lifted)
        if coded:
            for entry in list(best):
                if entry not in coded and self._entry_has_codes[entry]:
                    best[entry] -= OTHER_CODE_PENALTY

    def _ranked(self, norm: Normalized, keep: int) -> tuple[list[Scored], _Terms]:
        """The `keep` best entries for a normalized message, best first; ties go to the entry id that sorts first."""
        terms = self._analyzer.analyze(norm, correct=True)
        # Entries far below the floor matter neither for the ranking nor for the margin: drop them early.
        scores = {e: round(s, 1) for e, s in self._score(terms).items() if s >= NEAR_FLOOR / 2}
        # Entries are indexed in id order, so the index breaks ties like the id would.
        order = heapq.nsmallest(keep, scores, key=lambda e: (-scores[e], e))
        return [Scored(self._entries[e], scores[e]) for e in order], terms

    def match(self, text: str, *, level: Confidence = Confidence.NORMAL, limit: int = 5) -> MatchResult:
        """Rank the entries for `text` and decide whether the bot may answer it unasked at `level`."""
        scored, terms = self._ranked(normalize(text), keep=max(limit, 3))
        ranked = tuple(s for s in scored if s.score >= FLOOR)[: max(limit, 1)]
        near = () if ranked else tuple(s for s in scored if s.score >= NEAR_FLOOR)[:3]
        confident = self._confident(scored, terms, _LEVELS[Confidence(level)])
        return MatchResult(query=text, ranked=ranked, confident=confident, near=near)

    @staticmethod
    def _confident(scored: Sequence[Scored], terms: _Terms, level: _Level) -> bool:
        if not scored:
            return False
        if terms.off_signals > terms.mail_signals:
            return False  # SSH, databases, games, websites: not ours to answer unasked
        best = scored[0].score
        if not terms.mail_signals and (len(terms.terms) < 2 or best < level.neutral_score):
            return False  # one everyday word ("test") or a message that never says it is about mail
        if best < level.score:
            return False
        runner_up = scored[1].score if len(scored) > 1 else 0.0
        return best >= CERTAIN or best - runner_up >= level.margin

    def complete(self, text: str, limit: int = 25) -> list[Scored]:
        """Entries for an autocomplete list; what has been typed so far may end in half a word."""
        limit = max(limit, 0)
        norm = normalize(text)  # read once: the ranking and the label search share it
        typed = norm.text
        if not typed:
            return [Scored(e, 0.0) for e in sorted(self._entries, key=lambda e: (e.title.casefold(), e.id))][:limit]
        best: dict[int, float] = {self._position[s.entry.id]: s.score for s in self._ranked(norm, keep=limit)[0]}
        for label, similarity, position in process.extract(
            typed,
            self._label_texts,
            scorer=fuzz.partial_ratio if len(typed) >= 3 else fuzz.ratio,
            processor=None,
            score_cutoff=70,
            limit=None,
        ):
            entry = self._label_entries[position]
            starts = label.startswith(typed) or f" {typed}" in label
            best[entry] = max(best.get(entry, 0.0), 95.0 if starts else similarity * 0.9)
        order = sorted(best, key=lambda e: (-best[e], self._entries[e].id))
        return [Scored(self._entries[e], round(min(best[e], 100.0), 1)) for e in order[:limit]]

    def explain(self, text: str) -> dict[str, object]:
        """What the matcher made of `text`: terms, signals and best phrasings (for tuning and `--explain`)."""
        scored, terms = self._ranked(normalize(text), keep=5)
        phrase_scores = self._bag_scores(terms)[0] if terms.terms else {}
        best_phrase: dict[int, tuple[float, str]] = {}
        for index, score in sorted(phrase_scores.items(), key=lambda item: (-item[1], item[0])):
            best_phrase.setdefault(self._phrases[index].entry, (round(score, 1), self._phrases[index].source))
        return {
            "terms": list(terms.terms),
            "codes": sorted(terms.codes),
            "ports": sorted(terms.ports),
            "mismatch": terms.mismatch,
            "mail_signals": terms.mail_signals,
            "off_signals": terms.off_signals,
            "top": [(s.entry.id, s.score, best_phrase.get(self._position[s.entry.id], (0.0, ""))) for s in scored[:5]],
        }


__all__ = ["FLOOR", "MatchResult", "Matcher", "Scored", "stem"]
