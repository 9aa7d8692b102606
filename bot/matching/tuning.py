"""Every number the matcher is tuned with, in one place.

Scores run 0-100. The figures were set on the development set (`tests/data/devset.yaml`) and the tuning part
of the real-world corpus (`tests/data/realworld/`, items whose thread falls in the tuning split); the check
part and `tests/data/holdout.yaml` are only measured, never tuned on (`tests/matching/test_devset.py`,
`tests/matching/test_realworld.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.settings import Confidence

if TYPE_CHECKING:
    from collections.abc import Mapping

# --- What is listed -------------------------------------------------------------------------------------------
FLOOR = 50.0  # an explicit question lists entries at or above this
NEAR_FLOOR = 30.0  # when none reaches the floor, entries this close may still be offered as "did you mean"
MAX_SUGGESTIONS = 4


# --- When the bot may answer unasked -----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Level:
    score: float  # the best entry's score must reach this
    margin: float  # … and lead the runner-up by this much (unless it is near-certain)
    neutral_score: float  # a message without a single e-mail word needs this instead


LEVELS: Mapping[Confidence, Level] = {
    Confidence.STRICT: Level(score=70.0, margin=8.0, neutral_score=101.0),  # never without an e-mail word
    Confidence.NORMAL: Level(score=56.0, margin=3.0, neutral_score=64.0),
    Confidence.RELAXED: Level(score=50.0, margin=2.0, neutral_score=58.0),
}
CERTAIN = 90.0  # at or above this the margin rule is waived: two entries can both fit well

# --- Error codes and ports ----------------------------------------------------------------------------------------
CODE_SCORE = 95.0  # the message has an error code that only this entry lists
SHARED_CODE_SCORE = 80.0  # … that several entries list: the words decide between them
CODE_WORDS_SHARE = 0.2  # how much the words add to a shared code's lift
OTHER_CODE_PENALTY = 15.0  # the message has a code; this entry lists only other codes
PORT_BONUS = 6.0  # the message names a mail port this entry is about
MISMATCH_BONUS = 18.0  # the message pairs a port with the wrong security; this entry explains such pairs

# --- Scoring a phrasing by its terms ---------------------------------------------------------------------------
MIN_RECALL = 0.15  # a phrasing holding less of its weight than this is not scored at all
STANDALONE_WEIGHT = 9.0  # a phrasing this heavy (about three rare terms) is specific enough to stand alone
COMMON_WEIGHT = 0.6  # the most an everyday word can weigh

# --- Word order and near-verbatim text (rapidfuzz) --------------------------------------------------------------
ORDER_SHARE = 0.1  # how much word order (rapidfuzz on the surface text) counts in a phrasing's score
REFINE_ENTRIES = 12  # word order is read for this many leading entries
REFINE_PHRASES = 3  # … on each one's best few phrasings
REFINE_REACH = 20.0  # … that score within this much of the entry's best
VERBATIM = 88.0  # whole-message similarity at which a message counts as one of the phrasings
VERBATIM_LENGTH = VERBATIM / (200 - VERBATIM)  # the shortest/longest length ratio that can reach it
VERBATIM_RECALL = 0.5  # … tried only on phrasings whose terms the message mostly holds
SHORT_MESSAGE = 160  # characters of surface text up to which whole-message similarity is meaningful
PASTE_BAG = 20.0  # an error text is looked for inside a long paste once its words alone score this much
PASTE_CANDIDATES = 40  # … and only the best this many of them (partial_ratio over a long paste is costly)
PASTE_SIMILARITY = 90.0  # how closely the error text must appear inside the paste

# --- Bounds on work per message --------------------------------------------------------------------------------
TYPO_MIN_LENGTH = 4
MAX_TERMS = 400  # distinct terms read from one message: bounds the cost of huge pastes
MAX_TYPO_LOOKUPS = 60
DENSE_PHRASES = 20_000  # up to this many phrasings, term overlaps are counted in one dense array
