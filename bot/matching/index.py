"""The search index over one knowledge base: every phrasing (title, `asks`, `errors`) as weighted terms.

Built once per knowledge base and read-only afterwards. Postings, weights and per-phrasing figures are numpy
arrays so that scoring a message is a handful of vectorized operations over the phrasings that share its terms,
whatever the size of the knowledge base (see `benchmarks/matcher_latency.py`).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from itertools import chain
from typing import TYPE_CHECKING

import numpy as np

from bot.matching.analyzer import Analyzer, ProviderNames, apply_synonyms, stem
from bot.matching.normalize import normalize
from bot.matching.tuning import BM25_B, BM25_K1, COMMON_WEIGHT, PASTE_MIN_TERMS, SCRAP_LENGTH, UNKNOWN_AS_IN_ENTRIES
from bot.matching.vocabulary import COMMON_WORDS, MAIL_TERMS

if TYPE_CHECKING:
    from collections.abc import Mapping

    import numpy.typing as npt

    from bot.knowledge.model import Entry, KnowledgeBase

    IntArray = npt.NDArray[np.int32]
    FloatArray = npt.NDArray[np.float64]
    BoolArray = npt.NDArray[np.bool_]


def _int_array(values: list[int]) -> IntArray:
    return np.asarray(values, dtype=np.int32)


class Postings:
    """Many posting lists packed into one array: a term's list is a view of it. One numpy array per term would cost
    a hundred bytes of overhead each, which a knowledge base of 100,000 entries has some 750,000 times."""

    __slots__ = ("_data", "_ids", "_offsets", "_weights")

    def __init__(self, lists: Mapping[str, list[int]], weights: Mapping[str, list[float]] | None = None) -> None:
        terms = list(lists)
        self._ids: dict[str, int] = {term: i for i, term in enumerate(terms)}
        sizes = np.fromiter((len(lists[t]) for t in terms), dtype=np.int64, count=len(terms))
        self._offsets = np.concatenate((np.zeros(1, dtype=np.int64), np.cumsum(sizes)))
        total = int(self._offsets[-1])
        self._data: IntArray = np.fromiter(chain.from_iterable(lists[t] for t in terms), dtype=np.int32, count=total)
        self._weights: npt.NDArray[np.float32] | None = None
        if weights is not None:
            self._weights = np.fromiter(
                chain.from_iterable(weights[t] for t in terms), dtype=np.float32, count=total
            )

    def __contains__(self, term: str) -> bool:
        return term in self._ids

    def get(self, term: str) -> IntArray:
        """The term's list (empty for an unknown term)."""
        at = self._ids.get(term)
        if at is None:
            return self._data[:0]
        return self._data[self._offsets[at] : self._offsets[at + 1]]

    def weights(self, term: str) -> npt.NDArray[np.float32]:
        """The weight of each posting of the term, in the order of `get`."""
        assert self._weights is not None
        at = self._ids.get(term)
        if at is None:
            return self._weights[:0]
        return self._weights[self._offsets[at] : self._offsets[at + 1]]


class Index:
    """Phrasings, terms and weights of one knowledge base."""

    def __init__(self, knowledge: KnowledgeBase) -> None:
        self.entries: tuple[Entry, ...] = tuple(knowledge.entries[k] for k in sorted(knowledge.entries))
        position = {entry.id: i for i, entry in enumerate(self.entries)}
        port_security: dict[int, set[str]] = defaultdict(set)
        table_ports: dict[int, set[int]] = defaultdict(set)
        for row in knowledge.ports:
            port_security[row.port].add(row.security)
            if row.entry in position:
                table_ports[position[row.entry]].add(row.port)
        analyzer = Analyzer(
            ProviderNames.build(knowledge.providers), {p: frozenset(s) for p, s in port_security.items()}
        )
        provider_entry = {p.id: position[p.entry] for p in knowledge.providers if p.entry in position}

        # Every phrasing as terms, without typo correction: the knowledge base is the reference spelling.
        surfaces: list[str] = []
        phrase_terms: list[tuple[str, ...]] = []
        phrase_entry: list[int] = []
        is_error: list[bool] = []
        entry_terms: list[set[str]] = [set() for _ in self.entries]
        entry_codes: list[set[str]] = [set() for _ in self.entries]
        mismatch_entries: set[int] = set()
        vocabulary: set[str] = set()
        for index, entry in enumerate(self.entries):
            seen: set[str] = set()
            texts = [(entry.title, False), *((a, False) for a in entry.asks), *((e, True) for e in entry.errors)]
            for text, error in texts:
                norm = normalize(text)
                terms = analyzer.analyze(norm, correct=False)
                vocabulary.update(apply_synonyms(norm.tokens))
                if not terms.terms:
                    continue
                entry_terms[index].update(terms.terms)
                entry_codes[index].update(terms.codes)
                if terms.mismatch:
                    mismatch_entries.add(index)
                if terms.surface in seen:  # the same phrasing twice in one entry counts once
                    continue
                seen.add(terms.surface)
                surfaces.append(terms.surface)
                phrase_terms.append(terms.terms)
                phrase_entry.append(index)
                is_error.append(error and len(terms.terms) >= PASTE_MIN_TERMS)
            # Tags name topics: they tell what an entry covers (its vocabulary), not how people ask.
            for tag in entry.tags:
                norm = normalize(tag.replace("-", " "))
                vocabulary.update(apply_synonyms(norm.tokens))
                entry_terms[index].update(analyzer.analyze(norm, correct=False).terms)
            # The ports an entry is about: the ports table says so, or its title names them.
            table_ports[index].update(analyzer.analyze(normalize(entry.title), correct=False).ports)
        for provider_id, index in provider_entry.items():
            entry_terms[index].add("@" + provider_id)
        for provider in knowledge.providers:
            for name in (provider.name, *provider.aliases, *provider.domains):
                vocabulary.update(normalize(name.replace(".", " ")).tokens)
        self.analyzer = analyzer.with_vocabulary(vocabulary)

        # Term weights: inverse entry frequency, so a term found in every entry weighs little.
        count = max(len(self.entries), 1)
        frequency: dict[str, int] = defaultdict(int)
        for terms_of_entry in entry_terms:
            for term in terms_of_entry:
                frequency[term] += 1
        self.common: frozenset[str] = frozenset(stem(w) for w in COMMON_WORDS)
        self.weight: Mapping[str, float] = {
            t: min(math.log(1 + count / f), COMMON_WEIGHT) if t in self.common else math.log(1 + count / f)
            for t, f in frequency.items()
        }
        # A word the knowledge base never uses weighs like a fairly rare one: content no entry explains.
        self.unknown_weight = math.log(1 + count / UNKNOWN_AS_IN_ENTRIES)

        # Per phrasing: its entry, the inverse of its weight, whether it is an error text, its surface.
        weights = [sum(self.weight[t] for t in own) for own in phrase_terms]
        self.surfaces: tuple[str, ...] = tuple(surfaces)
        self.surface_length: IntArray = _int_array([len(s) for s in surfaces])
        self.phrase_entry: IntArray = _int_array(phrase_entry)
        self.phrase_weight: FloatArray = np.asarray(weights, dtype=np.float64)
        self.phrase_inverse_weight: FloatArray = np.asarray(
            [1.0 / w if w else 0.0 for w in weights], dtype=np.float64
        )
        self.phrase_is_error: BoolArray = np.asarray(is_error, dtype=np.bool_)
        # Terms a typo cannot stand for (codes, numbers, providers), packed: phrasing i's are
        # exact_terms[exact_at[i]:exact_at[i + 1]].
        exact = [[t for t in own if not t.isalpha()] for own in phrase_terms]
        self._exact_at: IntArray = np.concatenate(
            (np.zeros(1, dtype=np.int32), np.cumsum([len(e) for e in exact], dtype=np.int32))
        )
        self._exact_terms: tuple[str, ...] = tuple(chain.from_iterable(exact))

        postings: dict[str, list[int]] = defaultdict(list)
        for i, own in enumerate(phrase_terms):
            for term in own:
                postings[term].append(i)
        self.postings = Postings(postings)
        entry_postings: dict[str, list[int]] = defaultdict(list)
        for index, entry_own in enumerate(entry_terms):
            for term in entry_own:
                entry_postings[term].append(index)
        self.entry_postings = Postings({t: sorted(v) for t, v in entry_postings.items()})

        code_entries: dict[str, set[int]] = defaultdict(set)
        for index, codes in enumerate(entry_codes):
            for code in codes:
                code_entries[code].add(index)
        self.code_entries: Mapping[str, tuple[int, ...]] = {c: tuple(sorted(v)) for c, v in code_entries.items()}
        self.entry_has_codes: BoolArray = np.asarray([bool(c) for c in entry_codes], dtype=np.bool_)
        self.entry_codes: tuple[frozenset[str], ...] = tuple(frozenset(c) for c in entry_codes)
        port_entries: dict[int, list[int]] = defaultdict(list)
        for index in range(len(self.entries)):
            for port in table_ports.get(index, ()):
                port_entries[port].append(index)
        self.port_entries: Mapping[int, IntArray] = {p: _int_array(sorted(v)) for p, v in port_entries.items()}
        self.mismatch_entries: IntArray = _int_array(sorted(mismatch_entries))

        self._build_documents(knowledge)

    def _build_documents(self, knowledge: KnowledgeBase) -> None:
        """Each entry as one document for BM25: its phrasings, tags and answer text. The answer says in plain
        words what an entry is about ("the message stays in the Outbox"), words people describe symptoms with
        that its `asks` may lack."""
        read: dict[str, tuple[str, ...]] = {}  # answers and tags repeat across entries: analyze each text once

        def terms_of(text: str) -> tuple[str, ...]:
            found = read.get(text)
            if found is None:
                found = read[text] = self.analyzer.analyze(normalize(text), correct=False).terms
            return found

        documents: list[Counter[str]] = []
        for entry in self.entries:
            counts: Counter[str] = Counter()
            for text in (entry.title, *entry.asks, *entry.errors, *(t.replace("-", " ") for t in entry.tags)):
                counts.update(terms_of(text))
            for line in entry.answer.splitlines():
                counts.update(terms_of(line))
            documents.append(counts)
        count = max(len(documents), 1)
        average = sum(sum(d.values()) for d in documents) / count or 1.0
        frequency: Counter[str] = Counter(t for d in documents for t in d)
        entries: dict[str, list[int]] = defaultdict(list)
        weights: dict[str, list[float]] = defaultdict(list)
        for index, counts in enumerate(documents):
            norm = BM25_K1 * (1 - BM25_B + BM25_B * sum(counts.values()) / average)
            for term, tf in counts.items():
                df = frequency[term]
                idf = math.log(1 + (count - df + 0.5) / (df + 0.5))
                entries[term].append(index)
                weights[term].append(idf * tf * (BM25_K1 + 1) / (tf + norm))
        self.documents = Postings(entries, weights)

    def term_weight(self, term: str) -> float:
        weight = self.weight.get(term)
        if weight is not None:
            return weight
        # Unknown to the knowledge base: an everyday word, a mail word ("nodemailer") or a short scrap
        # (often a misspelt filler: "wich", "tak") is context; anything else is content no entry explains.
        if term in self.common or term in MAIL_TERMS or len(term) <= SCRAP_LENGTH:
            return COMMON_WEIGHT
        return self.unknown_weight

    def exact_terms(self, phrase: int) -> frozenset[str]:
        """The phrasing's terms that a typo cannot stand for: codes, numbers, providers."""
        return frozenset(self._exact_terms[self._exact_at[phrase] : self._exact_at[phrase + 1]])


__all__ = ["Index", "Postings"]
