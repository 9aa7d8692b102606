"""The decision between the lexical and the re-ranker's readings (bot/matching/decision.py)."""

from __future__ import annotations

import numpy as np

from bot.matching.decision import (
    ANSWER_FEATURES,
    CHOICE_FEATURES,
    Inputs,
    answer_row,
    candidates,
    decide,
    first_choice,
)
from bot.matching.reranker import NOT_ANSWERED
from bot.matching.tuning import ANSWER_MODEL, CHOICE_MODEL, FEATURES, LEVELS
from bot.settings import Confidence

CLASSES = (NOT_ANSWERED, "auth-failed-535", "smtp-port-587", "imap-ports", "pop3-ports", "cert-expired", "relay")
NORMAL = LEVELS[Confidence.NORMAL].answer
RELAXED = LEVELS[Confidence.RELAXED].answer


def inputs(
    lexical: list[tuple[str, float]],
    values: dict[str, float],
    *,
    probability: float = 0.5,
    verbatim: bool = False,
    may_answer: bool = True,
) -> Inputs:
    evidence = [0.0] * len(FEATURES)
    if lexical:
        evidence[FEATURES.index("relevance")] = lexical[0][1] / 100
        evidence[FEATURES.index("mail_signals")] = 2 / 3
        evidence[FEATURES.index("length")] = np.log1p(6) / 5
    vector = np.array([values.get(c, -1.5 - 0.01 * i) for i, c in enumerate(CLASSES)], dtype=np.float32)
    return Inputs(lexical, probability, verbatim, tuple(evidence), may_answer, True, CLASSES, vector)


def test_the_models_have_a_weight_for_every_feature() -> None:
    assert len(CHOICE_MODEL[1]) == len(CHOICE_FEATURES)
    assert len(ANSWER_MODEL[1]) == len(ANSWER_FEATURES)


def test_candidates_come_from_both_readings() -> None:
    found, rows = candidates(
        inputs([("smtp-port-587", 70.0), ("taught-entry", 60.0)], {"auth-failed-535": 1.2, "imap-ports": 0.1})
    )
    # The lexical reading's entries first, then the re-ranker's five best (smtp-port-587 among them, once);
    # "not answered" is never a candidate.
    assert found == ["smtp-port-587", "taught-entry", "auth-failed-535", "imap-ports", "pop3-ports", "cert-expired"]
    column = {name: rows[:, i] for i, name in enumerate(CHOICE_FEATURES)}
    row = {entry: i for i, entry in enumerate(found)}
    # The lexical probability speaks only for the lexical best.
    assert column["lexical_probability"][row["smtp-port-587"]] == 0.5
    assert column["lexical_probability"][row["taught-entry"]] == 0.0
    # An entry the lexical reading did not list has no lexical score and the last rank.
    assert column["lexical"][row["auth-failed-535"]] == 0.0
    assert column["lexical_rank"][row["auth-failed-535"]] == 1.0
    # The re-ranker's best is at its first rank with no gap; one it has no class for (taught after it was
    # trained) stands far below every class.
    assert column["rerank_rank"][row["auth-failed-535"]] == 0.0
    assert column["rerank_gap"][row["auth-failed-535"]] == 0.0
    assert column["rerank"][row["taught-entry"]] < column["rerank"].min(initial=0.0) + 1e-9
    # Certainty counts against "not answered" floored at -1: here "not answered" reads -1.5.
    assert np.isclose(column["rerank_certainty"][row["auth-failed-535"]], 1.2 - (-1.0))


def test_agreeing_readings_answer_and_a_strong_not_answered_holds_back() -> None:
    agree = decide(inputs([("auth-failed-535", 92.0), ("relay", 40.0)], {"auth-failed-535": 1.4}, probability=0.95))
    assert agree is not None
    assert agree.ranked[0][0] == "auth-failed-535"
    assert agree.probability >= NORMAL
    # The same lexical reading, but the re-ranker reads it as a message the knowledge does not answer.
    refused = decide(
        inputs(
            [("auth-failed-535", 92.0), ("relay", 40.0)],
            {NOT_ANSWERED: 1.5, "auth-failed-535": -1.2},
            probability=0.95,
        )
    )
    assert refused is not None
    assert refused.probability < agree.probability
    assert refused.probability < RELAXED


def test_the_re_ranker_can_overrule_a_weak_lexical_reading() -> None:
    decision = decide(inputs([("imap-ports", 48.0), ("pop3-ports", 45.0)], {"cert-expired": 1.6}, probability=0.2))
    assert decision is not None
    assert decision.ranked[0][0] == "cert-expired"


def test_nothing_to_choose_from() -> None:
    empty = Inputs((), 0.0, False, (0.0,) * len(FEATURES), True, True, (NOT_ANSWERED,), np.zeros(1, dtype=np.float32))
    assert decide(empty) is None


def test_the_answer_row_reads_the_chosen_entry() -> None:
    message = inputs([("auth-failed-535", 80.0)], {"auth-failed-535": 0.9, "relay": 1.1}, may_answer=False)
    row = dict(zip(ANSWER_FEATURES, answer_row(message, "auth-failed-535", 0.7, 0.2), strict=True))
    assert np.isclose(row["choice_lead"], 0.5)
    assert row["lexical_agrees"] == 1.0
    assert row["rerank_agrees"] == 0.0  # the re-ranker's best is "relay"
    assert np.isclose(row["rerank_lead"], 1.1 - 0.9)
    assert row["may_answer"] == 0.0
    assert row["lexical_score"] == 0.8


def test_a_lexically_sure_entry_goes_first_even_where_the_re_ranker_leans_to_a_sibling() -> None:
    lexical = [("smtp-port-587", 96.0), ("imap-ports", 80.0)]
    leaning = {"imap-ports": 1.8, "smtp-port-587": -0.5}
    unsure = decide(inputs(lexical, leaning, probability=0.9))
    assert unsure is not None
    assert unsure.ranked[0][0] == "imap-ports"  # the re-ranker's pick wins when the words are not decisive
    sure = decide(inputs(lexical, leaning, probability=0.995))
    assert sure is not None
    assert sure.ranked[0][0] == "smtp-port-587"
    assert sure.probability >= 0.995
    assert [entry for entry, _ in sure.ranked[1:]] == [entry for entry, _ in unsure.ranked if entry != "smtp-port-587"]
    assert first_choice((), inputs(lexical, leaning, probability=0.995)) == ()
