"""Every number the matcher is tuned with, in one place.

Scores run 0-100. The figures were set on the development set (`tests/data/devset.yaml`) and the tuning part
of the real-world corpus (`tests/data/realworld/`, items whose thread falls in the tuning split); the check
part and `tests/data/holdout.yaml` are only measured, never tuned on (`tests/matching/test_devset.py`,
`tests/matching/test_realworld.py`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.settings import Confidence

if TYPE_CHECKING:
    from collections.abc import Mapping

# --- What is listed -------------------------------------------------------------------------------------------
FLOOR = 50.0  # an explicit question lists entries at or above this
NEAR_FLOOR = 30.0  # when none reaches the floor, entries this close may still be offered as "did you mean"
NEAR_SUGGESTIONS = 3  # … and at most this many of them
MAX_SUGGESTIONS = 4


# --- When the bot may answer unasked ---------------------------------------------------------------------------
# A logistic model of "the best entry is the right answer", fitted by benchmarks/matcher_calibrate.py on the
# development set and the tuning part of the real-world corpus (their off-domain posts and chatter as negatives).
# The bot answers unasked when the probability reaches the level's threshold.
FEATURES: tuple[str, ...] = (
    "relevance",  # the best entry's relevance / 100
    "lead",  # … minus the runner-up's, / 100
    "words",  # its phrasings against the whole message / 100
    "verbatim",  # … one of them (an error text, say) is in the message nearly word for word
    "title",  # … against the post's title / 100
    "has_title",  # the message reads like a post: a short first line above more text
    "title_agrees",  # the title alone ranks the same entry first
    "body",  # its BM25 score as a document / 10
    "body_agrees",  # as a document, too, it ranks first
    "coverage",  # the share of the message's weight its terms hold
    "mail_signals",  # words, codes, hosts that place the message in e-mail (up to 3) / 3
    "off_signals",  # words and ports of other services (up to 3) / 3
    "code",  # the message has an error code the entry lists
    "length",  # log(1 + distinct terms) / 5
)
# Two models: one for a chat message or a pasted error, one for a post (a title line above more text), which
# reads differently — longer, with logs and chatter around the problem.
MESSAGE_MODEL: tuple[float, tuple[float, ...]] = (
    -7.803,
    (2.736, 1.619, 2.708, -0.182, 0.000, 0.000, 0.000, 0.278, 0.866, 2.303, 4.436, -5.143, -0.869, 1.327),
)
POST_MODEL: tuple[float, tuple[float, ...]] = (
    -7.982,
    (1.679, 1.087, 1.493, -0.889, 1.641, -0.000, 0.903, 1.864, 0.526, 2.806, 4.156, -1.478, -0.218, -0.844),
)


def logistic(z: float) -> float:
    """The logistic function of the models here, clamped so that exp never overflows."""
    return 1.0 / (1.0 + math.exp(-max(min(z, 40.0), -40.0)))


def answer_probability(features: tuple[float, ...]) -> float:
    """How likely the best entry is the right answer, from the features in `FEATURES` order."""
    intercept, weights = POST_MODEL if features[FEATURES.index("has_title")] else MESSAGE_MODEL
    return logistic(intercept + sum(w * x for w, x in zip(weights, features, strict=True)))


@dataclass(frozen=True, slots=True)
class Level:
    probability: float  # the lexical answer probability the bot needs to answer unasked, matching lexically only
    # … and the probability of the answer model (decision.py) it needs when the re-ranker reads the message too.
    # Set by benchmarks/matcher_decide.py.
    answer: float


LEVELS: Mapping[Confidence, Level] = {
    Confidence.STRICT: Level(probability=0.930, answer=0.915),
    Confidence.NORMAL: Level(probability=0.685, answer=0.825),
    Confidence.RELAXED: Level(probability=0.605, answer=0.755),
}

# --- The re-ranker (reranker.py) -----------------------------------------------------------------------------------
RERANK_C = 1.0  # the SVM's regularisation: lower generalises more, higher fits the phrasings closer
RERANK_MAX_ENTRIES = 2_000  # larger knowledge bases are matched lexically only (weights grow as entries times features)
RERANK_MAX_TEXT = 8_000  # characters of a message the re-ranker reads (a long paste is mostly log)
RERANK_NONE_FLOOR = -1.0  # "not answered" counts at least this much against the best entry
RERANK_SCORE_SCALE = 25.0  # points of the 0-100 match score per unit of the re-ranker's certainty above 0

# --- Choosing the entry and deciding to answer from both readings (decision.py) -----------------------------------
# Logistic models over decision.CHOICE_FEATURES and decision.ANSWER_FEATURES, fitted by
# benchmarks/matcher_decide.py on out-of-fold readings of the development set and the tuning part.
DECISION_CANDIDATES = 5  # the lexical reading's leading entries that compete with the re-ranker's five best
DECISION_LEXICAL = 8  # entries the lexical reading lists for the decision (its rank feature counts up to here)
# A lexical answer probability this high puts its entry first and stands whatever the answer model says. Out of
# fold such readings were right 111 times in 115 (tuning part and development set), and the choice model never
# picked another entry for them; the rule keeps clear questions such as "smtp 587 or 465?" answered with the entry
# their words name when the re-ranker leans to a sibling (decision.first_choice, decision.settle).
LEXICAL_SURE = 0.99
CHOICE_MODEL: tuple[float, tuple[float, ...]] = (
    -1.463,
    (
        1.570, -0.408, -0.027, 0.092, 0.830, 0.822, -1.038, 1.302, 1.196, -0.291,
    ),
)
ANSWER_MODEL: tuple[float, tuple[float, ...]] = (
    -4.197,
    (
        -0.071, 1.446, 0.338, 0.219, 0.258, 1.720, -0.238, 0.629, 0.792, 2.307,
        0.027, -0.110, -0.006, 0.028, -0.248, -0.111, 0.146, 0.334, 0.059, 0.193,
        1.036, 0.196, 0.497, -0.526,
    ),
)

# --- Reading a message in parts -----------------------------------------------------------------------------------
TITLE_LENGTH = 160  # a first line up to this long, above more text, is read as the post's title
TITLE_SHARE = 0.0  # how much the title's reading adds to an entry's relevance
BODY_SHARE = 1.0  # how much the entry-as-document (BM25) score adds
BODY_CAP = 8.0  # … at most: a long paste sums many terms

# --- Error codes and ports ----------------------------------------------------------------------------------------
CODE_SCORE = 95.0  # the message has an error code that only this entry lists
SHARED_CODE_SCORE = 80.0  # … that several entries list: the words decide between them
BARE_CODE_DISCOUNT = 10.0  # … less when it is a bare status code ("5.7.0"), not a full reply or an Outlook code
CODE_WORDS_SHARE = 0.2  # how much the words add to a shared code's lift
OTHER_CODE_PENALTY = 15.0  # the message has a code; this entry lists only other codes
PORT_BONUS = 6.0  # the message names a mail port this entry is about
MISMATCH_BONUS = 18.0  # the message pairs a port with the wrong security; this entry explains such pairs

# --- Scoring a phrasing by its terms ---------------------------------------------------------------------------
MIN_RECALL = 0.15  # a phrasing holding less of its weight than this is not scored at all
STANDALONE_WEIGHT = 9.0  # a phrasing this heavy (about three rare terms) is specific enough to stand alone
COMMON_WEIGHT = 0.6  # the most an everyday word can weigh
UNKNOWN_AS_IN_ENTRIES = 3  # a word the knowledge base never uses weighs like one found in this many entries
SCRAP_LENGTH = 4  # … unless it is this short or shorter (often a misspelt filler: "wich"): then it is context

# --- Word order and near-verbatim text (rapidfuzz) --------------------------------------------------------------
ORDER_SHARE = 0.1  # how much word order (rapidfuzz on the surface text) counts in a phrasing's score
REFINE_ENTRIES = 12  # word order is read for this many leading entries
REFINE_PHRASES = 3  # … on each one's best few phrasings
REFINE_REACH = 20.0  # … that score within this much of the entry's best
VERBATIM = 88.0  # whole-message similarity at which a message counts as one of the phrasings
VERBATIM_LENGTH = VERBATIM / (200 - VERBATIM)  # the shortest/longest length ratio that can reach it
VERBATIM_RECALL = 0.5  # … tried only on phrasings whose terms the message mostly holds
VERBATIM_WORDS = 95.0  # a phrasing scoring this is in the message nearly word for word
SHORT_MESSAGE = 160  # characters of surface text up to which whole-message similarity is meaningful
PASTE_MIN_TERMS = 3  # an error text of at least this many terms is looked for inside a long paste…
PASTE_BAG = 20.0  # … once its words alone score this much
PASTE_CANDIDATES = 40  # … and only the best this many of them (partial_ratio over a long paste is costly)
PASTE_SIMILARITY = 90.0  # how closely the error text must appear inside the paste

# --- Whole entries as documents (BM25 over phrasings, tags and answer text) --------------------------------------
BM25_K1 = 1.2
BM25_B = 0.75

# --- Bounds on work per message --------------------------------------------------------------------------------
TYPO_MIN_LENGTH = 4  # shorter words are never corrected
TWO_SLIPS_LENGTH = 9  # a word this long may carry two typing slips and still be recognised; a shorter one, one
NAMING_DOMAINS = 6  # the first few domains of a provider row, whose first labels name it in free text
MAX_TERMS = 400  # distinct terms read from one message: bounds the cost of huge pastes
MAX_TYPO_LOOKUPS = 60
SEED_POSTINGS = 1_000  # a term in more phrasings than this only adds to phrasings rarer terms found
DENSE_RATIO = 16  # term overlaps are counted densely when the postings read are 1/16 of the phrasings or more
