"""Which entry to answer with, and whether to answer unasked, from the lexical and the re-ranker's readings.

The two readings fail in different ways: the lexical one (matcher.py) is literal, so a post in its own words
finds little and a short phrasing found word for word inside a long post can win wrongly; the re-ranker
(reranker.py) generalises across wording but knows only what it was trained on. Two small logistic models,
fitted by benchmarks/matcher_decide.py on out-of-fold readings of the tuning data (each read by a re-ranker
trained without its source), settle it:

1. the **choice model** scores every candidate (the lexical reading's leading entries and the re-ranker's) by
   how likely it is the right answer, from both readings' view of it (`CHOICE_FEATURES`); the best goes first;
2. the **answer model** gives the probability that this choice is right and the message is one to answer
   (`ANSWER_FEATURES`): the choice's own score and lead, whether the readings agree, how far the re-ranker
   stands from "not answered", and the lexical evidence. Each confidence level needs its own probability.

Measured against the rule it replaces (the re-ranker's pick first unless a phrasing was in the message word for
word, either reading's certainty enough to answer): README, "Matching quality".
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from bot.matching.reranker import RANKED, Reading
from bot.matching.tuning import (
    ANSWER_MODEL,
    CHOICE_MODEL,
    DECISION_CANDIDATES,
    DECISION_LEXICAL,
    FEATURES,
    LEXICAL_SURE,
    logistic,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy.typing as npt

# How the two readings see one candidate entry; the columns of CHOICE_MODEL.
CHOICE_FEATURES: tuple[str, ...] = (
    "lexical",  # its lexical score / 100 (0 when the lexical reading did not list it)
    "lexical_gap",  # … minus the lexical best's, / 100
    "lexical_rank",  # its place in the lexical reading, 0 (first) to 1 (eighth or not listed)
    "lexical_listed",  # the lexical reading listed it at all
    "rerank",  # the re-ranker's decision value for it
    "rerank_gap",  # … minus the re-ranker's best entry's
    "rerank_rank",  # its place among the re-ranker's five best, 0 to 1 (not among them)
    "rerank_certainty",  # its decision value above "not answered" (floored, as in `Reading.certainty`)
    "lexical_probability",  # the lexical answer probability, when it is the lexical best (else 0)
    "lexical_verbatim",  # one of its phrasings is in the message word for word, when it is the lexical best
)
# What the decision to answer with the chosen entry rests on; the columns of ANSWER_MODEL.
ANSWER_FEATURES: tuple[str, ...] = (
    "choice",  # the choice model's score for the chosen entry
    "choice_lead",  # … minus the runner-up's
    "lexical_probability",  # the lexical answer model's probability for the lexical best entry
    "lexical_agrees",  # the chosen entry is the lexical best
    "rerank_agrees",  # … and the re-ranker's best
    "rerank_certainty",  # the chosen entry's decision value above "not answered"
    "rerank_lead",  # the re-ranker's best entry's value minus its second's
    "not_answered",  # the re-ranker's value for "the knowledge does not answer this"
    "lexical_score",  # the chosen entry's lexical score / 100
    "may_answer",  # not another service's problem, not one everyday word
    *(f"evidence_{name}" for name in FEATURES),  # the lexical evidence for its best entry (`tuning.FEATURES`)
)

_UNSEEN = -3.0  # the decision value of an entry the re-ranker has no class for (added after it was trained)


@dataclass(frozen=True, slots=True)
class Inputs:
    """Everything both readings say about one message."""

    lexical: Sequence[tuple[str, float]]  # entry ids and 0-100 scores, best first
    probability: float  # the lexical answer probability for the lexical best
    verbatim: bool  # one of the lexical best's phrasings is in the message word for word
    evidence: tuple[float, ...]  # `tuning.FEATURES` for the lexical best (zeros when nothing was found)
    may_answer: bool
    mail_context: bool  # a mail word, port, provider, mail server name or error code places it in e-mail
    classes: tuple[str, ...]  # the re-ranker's classes, NOT_ANSWERED among them
    values: npt.NDArray[np.float32]  # its decision value for each, in `classes` order


@dataclass(frozen=True, slots=True)
class Decision:
    ranked: tuple[tuple[str, float], ...]  # candidate entry ids and their choice-model scores, best first
    probability: float  # that the first is the right answer and the message one to answer
    certainty: float  # the re-ranker's decision value for the first above "not answered"


def _logistic(z: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    result: npt.NDArray[np.float64] = 1.0 / (1.0 + np.exp(-np.minimum(np.maximum(z, -40.0), 40.0)))
    return result


@functools.lru_cache(maxsize=8)
def _positions(classes: tuple[str, ...]) -> dict[str, int]:
    return {entry: i for i, entry in enumerate(classes)}


class _Reranked:
    """The re-ranker's reading of the message, as both models see it: its five best entries, and any entry's value."""

    __slots__ = ("_position", "_values", "order", "reading")

    def __init__(self, inputs: Inputs) -> None:
        self._position = _positions(inputs.classes)
        self._values = inputs.values
        self.reading = Reading.of(inputs.classes, inputs.values)
        self.order = [entry for entry, _ in self.reading.ranked]  # best first ("not answered" left out)

    def of(self, entry: str) -> float:
        found = self._position.get(entry)
        return float(self._values[found]) if found is not None else _UNSEEN

    def best(self, place: int) -> float:
        ranked = self.reading.ranked
        return ranked[place][1] if place < len(ranked) else _UNSEEN

    def certainty(self, entry: str) -> float:
        return self.of(entry) - self.reading.floor


def candidates(inputs: Inputs, reranked: _Reranked | None = None) -> tuple[list[str], npt.NDArray[np.float64]]:
    """The candidate entries (the lexical reading's leading few, then the re-ranker's five best) and their rows
    of `CHOICE_FEATURES`."""
    reranked = reranked or _Reranked(inputs)
    leading = reranked.order
    lexical = dict(inputs.lexical)
    lexical_rank = {entry: i for i, (entry, _) in enumerate(inputs.lexical)}
    lexical_best = inputs.lexical[0][0] if inputs.lexical else None
    lexical_top = inputs.lexical[0][1] if inputs.lexical else 0.0
    found = list(dict.fromkeys([entry for entry, _ in inputs.lexical[:DECISION_CANDIDATES]] + leading))
    lexical_score = np.array([lexical.get(entry, 0.0) for entry in found]) / 100
    value = np.array([reranked.of(entry) for entry in found])
    is_best = np.array([entry == lexical_best for entry in found], dtype=np.float64)
    rows = np.column_stack(
        (
            lexical_score,
            lexical_score - lexical_top / 100,
            np.array([min(lexical_rank.get(entry, DECISION_LEXICAL), DECISION_LEXICAL) for entry in found])
            / DECISION_LEXICAL,
            np.array([entry in lexical for entry in found], dtype=np.float64),
            value,
            value - reranked.best(0),
            np.array([leading.index(entry) if entry in leading else RANKED for entry in found])
            / RANKED,
            value - reranked.reading.floor,
            is_best * inputs.probability,
            is_best * float(inputs.verbatim),
        )
    )
    return found, rows


def answer_row(
    inputs: Inputs, chosen: str, score: float, runner_up: float, reranked: _Reranked | None = None
) -> npt.NDArray[np.float64]:
    """The `ANSWER_FEATURES` of answering with `chosen` (its choice score and the runner-up's)."""
    reranked = reranked or _Reranked(inputs)
    lexical = dict(inputs.lexical)
    lexical_best = inputs.lexical[0][0] if inputs.lexical else None
    head = (
        score,
        score - runner_up,
        inputs.probability,
        float(chosen == lexical_best),
        float(bool(reranked.order) and chosen == reranked.order[0]),
        reranked.certainty(chosen),
        reranked.best(0) - reranked.best(1) if len(reranked.order) > 1 else 0.0,
        reranked.reading.not_answered,
        lexical.get(chosen, 0.0) / 100,
        float(inputs.may_answer),
    )
    return np.array((*head, *inputs.evidence), dtype=np.float64)


def decide(inputs: Inputs) -> Decision | None:
    """The candidates best first and the probability of answering with the first; None without candidates."""
    reranked = _Reranked(inputs)
    found, rows = candidates(inputs, reranked)
    if not found:
        return None
    intercept, weights = CHOICE_MODEL
    scores = _logistic(rows @ np.asarray(weights) + intercept)
    order = np.argsort(-scores, kind="stable")
    ranked = first_choice(tuple((found[i], float(scores[i])) for i in order), inputs)
    runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
    intercept, weights = ANSWER_MODEL
    row = answer_row(inputs, ranked[0][0], ranked[0][1], runner_up, reranked)
    probability = logistic(float(row @ np.asarray(weights)) + intercept)
    certainty = reranked.certainty(ranked[0][0])
    return Decision(ranked, settle(probability, ranked[0][0], inputs), certainty)


def first_choice(ranked: tuple[tuple[str, float], ...], inputs: Inputs) -> tuple[tuple[str, float], ...]:
    """The candidates best first, the lexical best among them first when its lexical probability is at least
    `LEXICAL_SURE`: a question in the knowledge's own words ("smtp 587 or 465?") keeps the entry those words name,
    even where the re-ranker leans to a sibling entry (out of fold the two never differed at that probability)."""
    if not ranked or not inputs.lexical or inputs.probability < LEXICAL_SURE:
        return ranked
    named = inputs.lexical[0][0]
    return (*(pair for pair in ranked if pair[0] == named), *(pair for pair in ranked if pair[0] != named))


def may_answer_with(inputs: Inputs, needs_mail_context: bool) -> bool:
    """Whether the bot may answer the message unasked with an entry: the message is neither another service's
    problem nor one everyday word, and, for an entry whose errors any program prints or whose symptoms any app
    shows (`Entry.needs_mail_context`: "self signed certificate in certificate chain" from npm, "Connection
    refused" from a game, "notifications delayed" from a chat app), it shows it is about mail. Out of context such
    errors were as often another tool's as a mail app's (README, "Matching quality"); asked directly, the bot still
    offers the entry."""
    return inputs.may_answer and (inputs.mail_context or not needs_mail_context)


def settle(probability: float, chosen: str, inputs: Inputs) -> float:
    """The answer probability, or the lexical one when that is at least `LEXICAL_SURE` for the same entry: a
    clear question in the knowledge's own words ("smtp 587 or 465?") is answered even when the re-ranker, which
    spreads it over the entries about each port, is unsure."""
    if inputs.lexical and inputs.lexical[0][0] == chosen and inputs.probability >= LEXICAL_SURE:
        return max(probability, inputs.probability)
    return probability


__all__ = [
    "ANSWER_FEATURES",
    "CHOICE_FEATURES",
    "Decision",
    "Inputs",
    "answer_row",
    "candidates",
    "decide",
    "first_choice",
    "may_answer_with",
    "settle",
]
