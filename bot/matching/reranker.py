"""A second reading of which entry a message is about: a linear classifier over word and character n-grams.

The lexical matcher (matcher.py) scores a message by the terms it shares with each phrasing, which is exact and
explainable but literal: a post that describes a symptom in its own words shares few terms with any phrasing.
This classifier learns from every phrasing of the knowledge base and from its labelled examples
(`knowledge/examples/`), including messages the knowledge must leave alone, and generalises across wording
(measured on real posts it never saw: README, "Matching quality"). The matcher uses it to choose the best entry
and as a second, independent reason to answer.

scikit-learn does the work (TF-IDF features, a one-vs-rest linear SVM); it is trained when the knowledge is
loaded, in about 2 s at the shipped size, and kept for knowledge bases of up to `RERANK_MAX_ENTRIES` entries,
beyond which its weights (entries times features) would outgrow the index they sit beside.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from bot.matching.tuning import RERANK_C, RERANK_MAX_ENTRIES, RERANK_MAX_TEXT, RERANK_NONE_FLOOR

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    import numpy.typing as npt

    from bot.knowledge.model import Example, KnowledgeBase

log = logging.getLogger(__name__)

NOT_ANSWERED = ""  # the class of messages the knowledge does not answer (no entry id is empty)
RANKED = 5  # entries kept in a reading, best first


@dataclass(frozen=True, slots=True)
class Reading:
    ranked: tuple[tuple[str, float], ...]  # entry ids and their decision values, best first
    not_answered: float  # the decision value of "the knowledge does not answer this"

    @property
    def best(self) -> str | None:
        return self.ranked[0][0] if self.ranked else None

    @property
    def certainty(self) -> float:
        """How far the best entry stands above "not answered" (itself floored: a message can be far from every
        example of chatter and still be about nothing in the knowledge)."""
        if not self.ranked:
            return float("-inf")
        return self.ranked[0][1] - max(self.not_answered, RERANK_NONE_FLOOR)


def training_rows(
    knowledge: KnowledgeBase, examples: Iterable[Example] | None = None
) -> tuple[list[str], list[str]]:
    """Texts and labels: each entry's title, asks and errors, then the examples (`None`: the knowledge's own)."""
    texts: list[str] = []
    labels: list[str] = []
    for entry in knowledge.entries.values():
        for phrasing in (entry.title, *entry.asks, *entry.errors):
            texts.append(phrasing)
            labels.append(entry.id)
    for example in knowledge.examples if examples is None else examples:
        if example.entry is None or example.entry in knowledge.entries:
            texts.append(example.text[:RERANK_MAX_TEXT])
            labels.append(example.entry or NOT_ANSWERED)
    return texts, labels


@dataclass(frozen=True, slots=True)
class _Features:
    """One of the two TF-IDF feature sets, as scikit-learn fitted it: its analyzer, vocabulary and weights.

    Reading a message with them directly (instead of `transform`) gives the same numbers without building
    sparse matrices: a few hundred microseconds instead of several milliseconds per message."""

    analyze: Callable[[str], list[str]]
    columns: dict[str, int]  # n-gram -> its row in the weight matrix
    idf: npt.NDArray[np.float64]  # by column
    offset: int  # where this set's rows start in the weight matrix

    def add(self, text: str, weights: npt.NDArray[np.float32], values: npt.NDArray[np.float32]) -> None:
        """Add the message's TF-IDF vector (sublinear tf, L2-normalised, as fitted) times the weights."""
        found = Counter(column for gram in self.analyze(text) if (column := self.columns.get(gram)) is not None)
        if not found:
            return
        columns = np.fromiter(found.keys(), dtype=np.int64, count=len(found))
        counts = np.fromiter(found.values(), dtype=np.float64, count=len(found))
        tfidf = (1.0 + np.log(counts)) * self.idf[columns]
        tfidf /= np.sqrt(np.dot(tfidf, tfidf))
        values += tfidf.astype(np.float32) @ weights[columns + self.offset]


class Reranker:
    def __init__(
        self, features: Sequence[_Features], classes: Sequence[str], weights: npt.NDArray[np.float32], bias: Any
    ) -> None:
        self._features = tuple(features)
        self._classes = tuple(classes)
        self._not_answered = self._classes.index(NOT_ANSWERED)
        self._weights = weights  # features by classes, float32: half the memory of scikit-learn's float64
        self._bias = np.asarray(bias, dtype=np.float32)

    @property
    def entries(self) -> int:
        return len(self._classes) - 1

    @classmethod
    def train(cls, knowledge: KnowledgeBase, examples: Iterable[Example] | None = None) -> Reranker | None:
        """Trained on `knowledge` (and `examples` instead of its own, for measuring on held-out folds); None when
        scikit-learn is missing, the knowledge is too large, or nothing teaches it what to leave alone."""
        if not 2 <= len(knowledge.entries) <= RERANK_MAX_ENTRIES:
            return None
        texts, labels = training_rows(knowledge, examples)
        if NOT_ANSWERED not in labels:
            return None  # without "leave it alone" examples it could only ever name an entry
        try:
            from sklearn.feature_extraction.text import TfidfVectorizer
            from sklearn.pipeline import FeatureUnion
            from sklearn.svm import LinearSVC
        except ImportError:  # pragma: no cover - scikit-learn is a dependency; a broken install still answers
            log.warning("scikit-learn is not importable: matching without the re-ranker")
            return None
        parts = [
            TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
            # Character n-grams inside words carry typos, inflections and glued words ("smtpserver").
            TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, min_df=2),
        ]
        union = FeatureUnion([(f"part{i}", part) for i, part in enumerate(parts)])
        model = LinearSVC(C=RERANK_C).fit(union.fit_transform(texts), labels)
        features, offset = [], 0
        for _, part in union.transformer_list:  # the fitted ones
            columns = {str(gram): int(column) for gram, column in part.vocabulary_.items()}
            features.append(_Features(part.build_analyzer(), columns, np.asarray(part.idf_), offset))
            offset += len(columns)
        weights = np.ascontiguousarray(model.coef_.T, dtype=np.float32)
        return cls(features, [str(c) for c in model.classes_], weights, model.intercept_)

    def values(self, text: str) -> npt.NDArray[np.float32]:
        """The decision value of every class for `text`, in `classes` order."""
        values = self._bias.copy()
        for features in self._features:
            features.add(text[:RERANK_MAX_TEXT], self._weights, values)
        return values

    @property
    def classes(self) -> tuple[str, ...]:
        return self._classes

    def read(self, text: str) -> Reading:
        values = self.values(text)
        not_answered = float(values[self._not_answered])
        values[self._not_answered] = -np.inf
        top = np.argpartition(-values, min(RANKED, len(values) - 1))[:RANKED]
        order = top[np.argsort(-values[top], kind="stable")]
        ranked = tuple((self._classes[i], float(values[i])) for i in order if np.isfinite(values[i]))
        return Reading(ranked, not_answered)


__all__ = ["NOT_ANSWERED", "Reading", "Reranker", "training_rows"]
