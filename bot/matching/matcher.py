"""Matching a question or a pasted error to knowledge-base entries, and deciding whether to answer unasked.

How a message is scored (the index behind it, `bot.matching.index.Index`, is built once per knowledge base):

1. `normalize` cleans the text; `Analyzer` turns it into canonical terms (synonyms merged, misspellings
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
5. Each entry is also a BM25 document (phrasings, tags, answer text), which adds a little to its relevance.
6. `confident` is a calibrated model of "the best entry is right" (`tuning.answer_probability`, fitted by
   benchmarks/matcher_calibrate.py) over the evidence in `_Evidence`; text about SSH, databases, games or
   websites is never answered unasked, however well its words match.
7. The re-ranker (reranker.py, a classifier trained on the phrasings and on labelled real messages) reads the
   message again, and decision.py weighs both readings: a learned model chooses the entry among both readings'
   candidates, another gives the probability that answering with it is right (`Level.answer`).
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, TypedDict

import numpy as np
from rapidfuzz import fuzz, process

from bot.matching.analyzer import Terms, stem
from bot.matching.decision import Inputs, decide, may_answer_with
from bot.matching.index import Index
from bot.matching.normalize import normalize
from bot.matching.reranker import Reranker, cache_folder
from bot.matching.tuning import (
    BARE_CODE_DISCOUNT,
    BODY_CAP,
    BODY_SHARE,
    CODE_SCORE,
    CODE_WORDS_SHARE,
    DECISION_LEXICAL,
    DENSE_RATIO,
    FEATURES,
    FLOOR,
    LEVELS,
    MAX_SUGGESTIONS,
    MIN_RECALL,
    MISMATCH_BONUS,
    NEAR_FLOOR,
    NEAR_SUGGESTIONS,
    ORDER_SHARE,
    OTHER_CODE_PENALTY,
    PASTE_BAG,
    PASTE_CANDIDATES,
    PASTE_SIMILARITY,
    PORT_BONUS,
    REFINE_ENTRIES,
    REFINE_PHRASES,
    REFINE_REACH,
    RERANK_SCORE_SCALE,
    SEED_POSTINGS,
    SHARED_CODE_SCORE,
    SHORT_MESSAGE,
    STANDALONE_WEIGHT,
    TITLE_LENGTH,
    TITLE_SHARE,
    VERBATIM,
    VERBATIM_LENGTH,
    VERBATIM_RECALL,
    VERBATIM_WORDS,
    Level,
    answer_probability,
)
from bot.settings import Confidence

if TYPE_CHECKING:

    import numpy.typing as npt

    from bot.knowledge.model import Entry, KnowledgeBase

    IntArray = npt.NDArray[np.int32]
    FloatArray = npt.NDArray[np.float64]

_NO_POSTINGS = np.zeros(0, dtype=np.int32)


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
    # The best entry's errors are printed by other programs too, and nothing in the message says it is about mail.
    wants_mail_context: bool = False

    @property
    def best(self) -> Scored | None:
        return self.ranked[0] if self.ranked else None

    @property
    def suggestions(self) -> tuple[Scored, ...]:
        """'Did you mean': the other candidates, or the nearest below the floor when none passed it."""
        if self.ranked:
            return self.ranked[1 : 1 + MAX_SUGGESTIONS]
        return self.near[:MAX_SUGGESTIONS]


@dataclass(frozen=True, slots=True)
class Readings:
    """What `Matcher.read` found: the entries best first, and what the decision to answer unasked rests on."""

    scored: list[Scored]
    probability: float  # the lexical answer model's probability that the lexical reading's best entry is right
    answer: float | None  # the answer model's probability for the first entry, when the re-ranker read it too
    may_answer: bool  # neither another service's problem nor one everyday word; about mail if the entry needs that
    mail_context: bool = True  # a mail word, port, provider, mail server name or error code is in the message

    def confident(self, level: Level) -> bool:
        if not self.scored or not self.may_answer:
            return False
        if self.answer is not None:
            return self.answer >= level.answer
        return self.probability >= level.probability


class Explanation(TypedDict):
    top: list[tuple[str, float]]  # the leading entries' ids and scores, best first
    features: dict[str, float]  # what the answer model reads for the best one, by name (`tuning.FEATURES`)


@dataclass(frozen=True, slots=True)
class _Bag:
    """The phrasings that share enough of a message's terms, scored by weight of terms alone (0-100)."""

    phrases: IntArray  # phrasing ids, ascending (so grouped by entry)
    scores: FloatArray
    recall: FloatArray
    entries: IntArray  # the entries that have a scored phrasing, ascending
    best: FloatArray  # each of those entries' best phrasing score
    first: IntArray  # where each entry's phrasings start in `phrases`
    explained: FloatArray  # the weight of the message each entry's terms hold, over all entries
    query_weight: float  # the message's whole weight


@dataclass(frozen=True, slots=True)
class _Evidence:
    """What the decision to answer unasked rests on: the best entry's readings and the message's signals."""

    terms: Terms
    relevance: float = 0.0  # the best entry's relevance (before the 0-100 cap)
    runner_up: float = 0.0
    words: float = 0.0  # its phrasings against the whole message
    title: float = 0.0  # … against the post's title
    has_title: bool = False
    title_agrees: bool = False  # the title alone ranks this entry first too
    body: float = 0.0  # its BM25 score as a document (capped)
    body_agrees: bool = False  # as a document, too, it ranks first among the entries a phrasing reached
    coverage: float = 0.0  # the share of the message's weight that the entry's terms hold
    code: bool = False  # the message has an error code this entry lists

    def features(self) -> tuple[float, ...]:
        """In the order of `tuning.FEATURES`."""
        terms = self.terms
        return (
            self.relevance / 100,
            (self.relevance - self.runner_up) / 100,
            self.words / 100,
            float(self.words >= VERBATIM_WORDS),
            self.title / 100,
            float(self.has_title),
            float(self.title_agrees),
            self.body / 10,
            float(self.body_agrees),
            min(self.coverage, 1.0),
            min(terms.mail_signals, 3) / 3,
            min(terms.off_signals, 3) / 3,
            float(self.code),
            math.log1p(len(terms.terms)) / 5,
        )


def _overlaps(lists: list[IntArray], weights: FloatArray, phrasings: int) -> tuple[IntArray, FloatArray]:
    """The phrasings that share a term with the message (ascending, so grouped by entry, as phrasings are numbered
    entry by entry) and the weight of the message each holds, summed in term order.

    Like a search engine's max-score pruning, a term found in very many phrasings ("email" in a huge knowledge
    base) only adds to phrasings that a rarer term of the message found: alone it could not make a phrasing score.
    A knowledge base of the shipped size has no such term, so there every phrasing is counted."""
    seeding = [p for p in lists if len(p) <= SEED_POSTINGS]
    sizes = [len(p) for p in lists]
    if (not seeding or len(seeding) == len(lists)) and sum(sizes) * DENSE_RATIO >= phrasings:
        # Counted densely when the postings read are many for the knowledge base: cheaper than sorting them.
        dense: FloatArray = np.bincount(
            np.concatenate(lists), weights=np.repeat(weights, sizes), minlength=phrasings
        ).astype(np.float64, copy=False)
        found = np.flatnonzero(dense)
        return found.astype(np.int32), dense[found]
    if not seeding or len(seeding) == len(lists):
        # Few postings: sorting them is cheaper than a pass over every phrasing.
        found, where = np.unique(np.concatenate(lists), return_inverse=True)
        counted: FloatArray = np.bincount(where, weights=np.repeat(weights, sizes)).astype(np.float64, copy=False)
        return found.astype(np.int32), counted
    found = np.unique(np.concatenate(seeding))
    shared: FloatArray = np.zeros(len(found))
    for postings, weight in zip(lists, weights, strict=True):
        if len(postings) <= SEED_POSTINGS:
            shared[np.searchsorted(found, postings)] += weight
        else:
            at = np.minimum(np.searchsorted(postings, found), len(postings) - 1)
            shared[postings[at] == found] += weight
    return found.astype(np.int32), shared


def _leading(values: FloatArray, ids: IntArray, count: int) -> list[int]:
    """Positions of the `count` highest values, ties broken by the lower id: without sorting everything."""
    if len(values) > count:
        cut = np.partition(values, len(values) - count)[len(values) - count]
        positions = np.flatnonzero(values >= cut)
    else:
        positions = np.arange(len(values))
    return sorted(positions.tolist(), key=lambda i: (-values[i], ids[i]))[:count]


# `Matcher(knowledge)` trains its own re-ranker; pass one to share it, or None to match lexically only.
TRAIN: Literal["train"] = "train"


class Matcher:
    """An index over one knowledge base. Immutable once built: a reload builds a new Matcher to swap in."""

    def __init__(self, knowledge: KnowledgeBase, *, reranker: Reranker | Literal["train"] | None = TRAIN) -> None:
        self._index = Index(knowledge)
        # Shared by the matchers of one knowledge base that differ only in a few phrasings (a server's learned
        # ones): training takes seconds, and a taught phrasing is matched word for word by the lexical reading.
        self._reranker = Reranker.train(knowledge, cache=cache_folder()) if reranker == TRAIN else reranker
        self._by_id = {entry.id: entry for entry in self._index.entries}

    @property
    def reranker(self) -> Reranker | None:
        return self._reranker

    @property
    def entries(self) -> tuple[Entry, ...]:
        return self._index.entries

    # --- Scoring -------------------------------------------------------------------------------------------

    def _bag(self, terms: Terms) -> _Bag | None:
        """Each phrasing's score by weight of terms: it scores high when the message holds most of its weight
        (recall) and its entry explains most of the message (precision). Phrasings holding under MIN_RECALL of
        their weight are skipped: they could not score above ~25."""
        index = self._index
        known = [(t, w) for t in terms.terms if (w := index.weight.get(t)) is not None]
        if not known:
            return None
        query_weight = sum(index.term_weight(t) for t in terms.terms) or 1.0
        weights = np.fromiter((w for _, w in known), dtype=np.float64, count=len(known))
        lists = [index.postings.get(t) for t, _ in known]
        sizes = [len(p) for p in lists]
        if not sum(sizes):
            return None
        phrases, shared = _overlaps(lists, weights, len(index.phrase_entry))
        # … and each entry holds: of two entries whose phrasings both sit inside a pasted error, the one
        # covering more of it wins.
        entry_lists = [index.entry_postings.get(t) for t, _ in known]
        explained = np.bincount(
            np.concatenate(entry_lists),
            weights=np.repeat(weights, [len(e) for e in entry_lists]),
            minlength=len(index.entries),
        ).astype(np.float64, copy=False)
        recall = shared * index.phrase_inverse_weight[phrases]
        keep = recall >= MIN_RECALL
        if not keep.any():
            return None
        phrases, shared, recall = phrases[keep], shared[keep], np.minimum(recall[keep], 1.0)
        entry_of = index.phrase_entry[phrases]
        precision = np.minimum((explained[entry_of] + shared) * (0.5 / query_weight), 1.0)
        scores = 2 * precision * recall / (precision + recall)
        # A heavy phrasing (an error text) found whole inside chatter stands on its own.
        alone = recall * recall * np.minimum(shared / STANDALONE_WEIGHT, 1.0)
        scores = np.maximum(scores, alone) * 100.0
        first = np.flatnonzero(np.concatenate(([True], entry_of[1:] != entry_of[:-1]))).astype(np.int32)
        best = np.maximum.reduceat(scores, first)
        return _Bag(phrases.astype(np.int32), scores, recall, entry_of[first], best, first, explained, query_weight)

    def _score(self, terms: Terms) -> tuple[FloatArray | None, _Bag | None]:
        """Every entry's score, 0-100 (unrounded), NaN for the entries the message has nothing in common with;
        and the bag of phrasings it rests on."""
        if not terms.terms and not terms.codes:
            return None, None
        index = self._index
        bag = self._bag(terms)
        # Entries beyond the leading few keep their bag score, discounted as if word order matched half-way.
        scores = np.full(len(index.entries), np.nan)
        if bag is not None:
            scores[bag.entries] = bag.best * (1 - ORDER_SHARE / 2)
            self._read_order(terms, bag, scores)
        self._adjust_for_codes(terms, scores)
        present = ~np.isnan(scores)
        if terms.ports:  # a mismatch ("ssl on 587") always names a port
            about_port = np.zeros(len(index.entries), dtype=np.bool_)
            for port in terms.ports:
                about_port[index.port_entries.get(port, _NO_POSTINGS)] = True
            if not terms.mismatch:
                scores[present & about_port] += PORT_BONUS
            else:
                # "STARTTLS on 993" asks about the pairing, not about port 993.
                mismatch = np.zeros(len(index.entries), dtype=np.bool_)
                mismatch[index.mismatch_entries] = True
                scores[present & mismatch] += MISMATCH_BONUS
                scores[present & ~mismatch & about_port] -= PORT_BONUS
        capped: FloatArray = np.minimum(scores, 100.0)
        return capped, bag

    def _read_order(self, terms: Terms, bag: _Bag, scores: FloatArray) -> None:
        """Word order on the leading entries' best phrasings (rapidfuzz on the surface text): whole-message
        similarity for a short message, the phrasing found inside a long one; then near-verbatim phrasings,
        and error texts inside long pastes."""
        index = self._index
        if not terms.surface:
            return
        short = len(terms.surface) <= SHORT_MESSAGE
        # The leading entries' best few phrasings: each entry's phrasings sit together in the bag.
        ends = np.append(bag.first[1:], len(bag.phrases))
        chosen: list[int] = []
        for k in _leading(bag.best, bag.entries, REFINE_ENTRIES):
            start, stop = int(bag.first[k]), int(ends[k])
            reach = float(bag.best[k]) - REFINE_REACH
            # A stable sort keeps equal scores in phrasing order, as the phrasings are in the bag.
            own = np.argsort(-bag.scores[start:stop], kind="stable")[:REFINE_PHRASES] + start
            chosen.extend(int(i) for i in own if bag.scores[i] >= reach)
        refined: dict[int, float] = {}
        for _, similarity, position in process.extract(
            terms.surface,
            [index.surfaces[bag.phrases[i]] for i in chosen],
            scorer=fuzz.ratio if short else fuzz.partial_ratio,
            processor=None,  # both sides are normalized already
            limit=None,
        ):
            at = chosen[position]
            entry = int(index.phrase_entry[bag.phrases[at]])
            blended = (1 - ORDER_SHARE) * float(bag.scores[at]) + ORDER_SHARE * similarity
            refined[entry] = max(refined.get(entry, 0.0), blended)
        for entry, value in refined.items():
            scores[entry] = value

        if short:
            # The message is one of the phrasings, give or take a typo the word-level correction missed.
            # fuzz.ratio reaches VERBATIM only between texts of similar length, and only phrasings whose terms
            # the message mostly holds can be that close.
            length = len(terms.surface)
            lengths = index.surface_length[bag.phrases]
            near = np.flatnonzero(
                (bag.recall >= VERBATIM_RECALL)
                & (lengths >= math.ceil(length * VERBATIM_LENGTH))
                & (lengths <= math.floor(length / VERBATIM_LENGTH))
            )
            exact = {t for t in terms.terms if not t.isalpha()}
            for _, similarity, position in process.extract(
                terms.surface,
                [index.surfaces[bag.phrases[i]] for i in near],
                scorer=fuzz.ratio,
                processor=None,
                score_cutoff=VERBATIM,
                limit=None,
            ):
                phrase = int(bag.phrases[near[position]])
                # Codes, numbers and providers must be the same: "gmx" is not a typo of "gmail" here.
                if index.exact_terms(phrase) <= exact:
                    entry = int(index.phrase_entry[phrase])
                    scores[entry] = max(scores[entry], similarity)
        else:
            # A long paste holds an error text, typos and all. Only error texts that share a good part of
            # their words with the paste can be in it, so only the best of those are searched for.
            errors = np.flatnonzero(index.phrase_is_error[bag.phrases] & (bag.scores >= PASTE_BAG))
            if len(errors) > PASTE_CANDIDATES:
                errors = errors[_leading(bag.scores[errors], bag.phrases[errors], PASTE_CANDIDATES)]
            for _, similarity, position in process.extract(
                terms.surface,
                [index.surfaces[bag.phrases[i]] for i in errors],
                scorer=fuzz.partial_ratio,
                processor=None,
                score_cutoff=PASTE_SIMILARITY,
                limit=None,
            ):
                phrase = int(bag.phrases[errors[position]])
                scaled = similarity * min(1.0, float(index.phrase_weight[phrase]) / STANDALONE_WEIGHT)
                entry = int(index.phrase_entry[phrase])
                scores[entry] = max(scores[entry], scaled)

    def _adjust_for_codes(self, terms: Terms, scores: FloatArray) -> None:
        """An error code settles which entry answers; entries about other codes lose ground."""
        if not terms.codes:
            return
        index = self._index
        base = scores.copy()  # what the words said, before any code
        coded: set[int] = set()
        for code in sorted(terms.codes):
            listing = index.code_entries.get(code, ())
            coded.update(listing)
            # A code only one entry lists settles it. A shared one lifts its entries and lets the words choose;
            # a full reply ("530 5.7.0") or an Outlook code says more than a bare status code ("5.7.0").
            full = " " in code or code.startswith("0x")
            for entry in listing:
                if len(listing) == 1:
                    lifted = CODE_SCORE
                else:
                    shared = SHARED_CODE_SCORE if full else SHARED_CODE_SCORE - BARE_CODE_DISCOUNT
                    words = 0.0 if np.isnan(base[entry]) else float(base[entry])
                    lifted = min(shared + CODE_WORDS_SHARE * words, 100.0)
                scores[entry] = lifted if np.isnan(scores[entry]) else max(float(scores[entry]), lifted)
        if coded:
            others = index.entry_has_codes & ~np.isnan(scores)
            others[list(coded)] = False
            scores[others] -= OTHER_CODE_PENALTY

    def _body(self, terms: Terms, entries: IntArray) -> FloatArray:
        """The BM25 score of each of `entries` (ascending) as a document (phrasings, tags and answer text)."""
        index = self._index
        body: FloatArray = np.zeros(len(entries))
        for term in terms.terms:
            documents = index.documents.get(term)
            if not len(documents):
                continue
            at = np.minimum(np.searchsorted(documents, entries), len(documents) - 1)
            hit = documents[at] == entries
            body[hit] += index.documents.weights(term)[at[hit]]
        return body

    def _read(self, text: str) -> tuple[Terms, Terms | None]:
        """The message's terms, and its title's when it reads like a post: a short first line above more text."""
        analyzer = self._index.analyzer
        terms = analyzer.analyze(normalize(text), correct=True)
        first, _, rest = text.strip().partition("\n")
        if rest.strip() and len(first) <= TITLE_LENGTH:
            return terms, analyzer.analyze(normalize(first), correct=True)
        return terms, None

    def _ranked(self, text: str, keep: int) -> tuple[list[Scored], _Evidence]:
        """The `keep` best entries for a message, best first (ties go to the entry id that sorts first), and the
        evidence behind the best one.

        An entry's relevance adds up three readings: its phrasings against the whole message, the same against
        a post's title (people put the problem in the title and a log below it), and the entry as a document."""
        terms, title = self._read(text)
        words, bag = self._score(terms)
        heading = self._score(title)[0] if title is not None else None
        # Only entries that some phrasing reached can be listed: the document score alone (at most
        # BODY_SHARE * BODY_CAP) stays below the listing's lower bound, so it is read for those entries only.
        reached = [~np.isnan(found) for found in (words, heading) if found is not None]
        if not reached:
            return [], _Evidence(terms)
        entries = np.flatnonzero(np.logical_or.reduce(reached)).astype(np.int32)
        words_of = np.zeros(len(entries)) if words is None else np.nan_to_num(words[entries])
        heading_of = np.zeros(len(entries)) if heading is None else np.nan_to_num(heading[entries])
        body = self._body(terms, entries)
        body_of = np.minimum(body, BODY_CAP)
        relevance = words_of + TITLE_SHARE * heading_of + BODY_SHARE * body_of
        # Entries far below the floor matter neither for the ranking nor for the margin: drop them early, and
        # round only the few that can still be among the `keep` best (rounding can tie them, never pass them).
        candidates = np.flatnonzero(relevance >= NEAR_FLOOR / 2)
        values = np.minimum(relevance[candidates], 100.0)
        if len(candidates) > keep:
            cut = np.partition(values, len(values) - keep)[len(values) - keep] - 0.1
            candidates, values = candidates[values >= cut], values[values >= cut]
        scores = {int(c): round(float(v), 1) for c, v in zip(candidates, values, strict=True)}
        # Entries are indexed in id order, so the index breaks ties like the id would.
        order = heapq.nsmallest(keep, scores, key=lambda c: (-scores[c], c))
        ranked = [Scored(self._index.entries[entries[c]], scores[c]) for c in order]
        evidence = _Evidence(terms)
        if order:
            top = order[0]
            heading_top = int(np.argmax(heading_of)) if heading is not None and heading_of.max() > 0 else -1
            evidence = _Evidence(
                terms,
                relevance=float(relevance[top]),
                runner_up=float(relevance[order[1]]) if len(order) > 1 else 0.0,
                words=float(words_of[top]),
                title=float(heading_of[top]) if title is not None else 0.0,
                has_title=title is not None,
                title_agrees=heading_top == top,
                body=float(body_of[top]),
                body_agrees=bool(body.max() > 0) and int(np.argmax(body)) == top,
                coverage=float(bag.explained[entries[top]]) / bag.query_weight if bag is not None else 0.0,
                code=bool(terms.codes & self._index.entry_codes[int(entries[top])]),
            )
        return ranked, evidence

    def match(self, text: str, *, level: Confidence = Confidence.NORMAL, limit: int = 5) -> MatchResult:
        """Rank the entries for `text` and decide whether the bot may answer it unasked at `level`."""
        readings = self.read(text, keep=max(limit, NEAR_SUGGESTIONS))
        scored = readings.scored
        ranked = tuple(s for s in scored if s.score >= FLOOR)[: max(limit, 1)]
        near = () if ranked else tuple(s for s in scored if s.score >= NEAR_FLOOR)[:NEAR_SUGGESTIONS]
        confident = readings.confident(LEVELS[Confidence(level)])
        wants_context = bool(scored) and scored[0].entry.needs_mail_context and not readings.mail_context
        return MatchResult(query=text, ranked=ranked, confident=confident, near=near, wants_mail_context=wants_context)

    def read(self, text: str, keep: int = MAX_SUGGESTIONS + 1) -> Readings:
        """Both readings of `text`: the entries best first and what the decision to answer unasked rests on."""
        inputs, scored = self.inputs(text, keep)
        lexical = Readings(
            scored[:keep],
            inputs.probability,
            None,
            bool(scored) and may_answer_with(inputs, scored[0].entry.needs_mail_context),
            inputs.mail_context,
        )
        if self._reranker is None:
            return lexical
        decision = decide(inputs)
        if decision is None or decision.ranked[0][0] not in self._by_id:
            return lexical  # (a re-ranker shared from other knowledge may name an entry this one lacks)
        chosen = decision.ranked[0][0]
        score = next((s.score for s in scored if s.entry.id == chosen), 0.0)
        if decision.certainty > 0:  # its certainty on the 0-100 scale: 0 (as sure as "not answered") is the floor
            score = max(score, FLOOR + RERANK_SCORE_SCALE * decision.certainty)
        if decision.probability >= min(level.answer for level in LEVELS.values()):
            score = max(score, FLOOR)  # an entry the bot may answer with unasked is listed when asked
        if score < FLOOR and any(s.score >= FLOOR for s in scored if s.entry.id != chosen):
            # The decision put it above entries that are listed: it is listed too, and first. Left below the floor,
            # the list would open with an entry the decision ranked lower, which was right far less often (out of
            # fold on the tuning posts: 8 of 68 such posts, against 23 for the decision's choice).
            score = FLOOR
        first = Scored(self._by_id[chosen], round(min(score, 100.0), 1))
        reordered = [first, *(s for s in scored if s.entry.id != chosen)][:keep]
        may_answer = may_answer_with(inputs, first.entry.needs_mail_context)
        return Readings(reordered, inputs.probability, decision.probability, may_answer, inputs.mail_context)

    def inputs(self, text: str, keep: int = MAX_SUGGESTIONS + 1) -> tuple[Inputs, list[Scored]]:
        """What both readings say about `text` (the re-ranker's values empty without one), and the lexical
        reading's entries: what decision.py decides from, and benchmarks/matcher_decide.py fits on."""
        scored, evidence = self._ranked(text, keep=max(keep, DECISION_LEXICAL))
        terms = evidence.terms
        may_answer = terms.off_signals <= terms.mail_signals and (bool(terms.mail_signals) or len(terms.terms) >= 2)
        features = evidence.features() if scored else (0.0,) * len(FEATURES)
        reranker = self._reranker
        inputs = Inputs(
            lexical=[(s.entry.id, s.score) for s in scored],
            probability=answer_probability(features) if scored else 0.0,
            verbatim=bool(scored) and evidence.words >= VERBATIM_WORDS,
            evidence=features,
            may_answer=may_answer,
            mail_context=bool(terms.mail_signals),
            classes=reranker.classes if reranker is not None else (),
            values=reranker.values(text) if reranker is not None else np.zeros(0, dtype=np.float32),
        )
        return inputs, scored

    def explain(self, text: str) -> Explanation:
        """The leading entries for `text` and the features the answer model reads for the best one: what
        benchmarks/matcher_calibrate.py fits that model on."""
        scored, evidence = self._ranked(text, keep=5)
        return {
            "top": [(s.entry.id, s.score) for s in scored],
            "features": dict(zip(FEATURES, evidence.features(), strict=True)),
        }


__all__ = ["FLOOR", "Explanation", "MatchResult", "Matcher", "Scored", "stem"]
