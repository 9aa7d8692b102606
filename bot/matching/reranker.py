"""A second reading of which entry a message is about: a linear classifier over word and character n-grams.

The lexical matcher (matcher.py) scores a message by the terms it shares with each phrasing, which is exact and
explainable but literal: a post that describes a symptom in its own words shares few terms with any phrasing.
This classifier learns from every phrasing of the knowledge base and from its labelled examples
(`knowledge/examples/`), including messages the knowledge must leave alone, and generalises across wording
(measured on real posts it never saw: README, "Matching quality"). The matcher uses it to choose the best entry
and as a second, independent reason to answer.

scikit-learn fits it (TF-IDF features, a one-vs-rest linear SVM) when the knowledge is loaded, in about 10 s at the
shipped size; the fitted numbers are kept in a cache folder, so the next start with the same knowledge reads them
in a fraction of that without importing scikit-learn. It is used for knowledge bases of up to `RERANK_MAX_ENTRIES`
entries, beyond which its weights (entries times features) would outgrow the index they sit beside.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import os
import re
import tempfile
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bot.matching.tuning import RERANK_C, RERANK_MAX_ENTRIES, RERANK_MAX_TEXT, RERANK_NONE_FLOOR

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence

    import numpy.typing as npt

    from bot.knowledge.model import Example, KnowledgeBase

log = logging.getLogger(__name__)

NOT_ANSWERED = ""  # the class of messages the knowledge does not answer (no entry id is empty)
RANKED = 5  # entries kept in a reading, best first
CACHE_KEPT = 4  # fitted re-rankers kept in the cache folder (one per knowledge version in use)


@dataclass(frozen=True, slots=True)
class Reading:
    ranked: tuple[tuple[str, float], ...]  # entry ids and their decision values, best first
    not_answered: float  # the decision value of "the knowledge does not answer this"

    @classmethod
    def of(cls, classes: Sequence[str], values: npt.NDArray[np.float32]) -> Reading:
        """The reading of the decision values `values` of `classes` (one of them, normally, NOT_ANSWERED)."""
        entries = values.copy()
        not_answered = RERANK_NONE_FLOOR
        if NOT_ANSWERED in classes:
            position = list(classes).index(NOT_ANSWERED)
            not_answered = float(entries[position])
            entries[position] = -np.inf
        top = np.argpartition(-entries, min(RANKED, len(entries) - 1))[:RANKED]
        order = top[np.argsort(-entries[top], kind="stable")]
        return cls(tuple((classes[i], float(entries[i])) for i in order if np.isfinite(entries[i])), not_answered)

    @property
    def best(self) -> str | None:
        return self.ranked[0][0] if self.ranked else None

    @property
    def floor(self) -> float:
        """What an entry's value is measured against: "not answered", itself floored (a message can be far from
        every example of chatter and still be about nothing in the knowledge)."""
        return max(self.not_answered, RERANK_NONE_FLOOR)

    @property
    def certainty(self) -> float:
        """How far the best entry stands above "not answered"."""
        if not self.ranked:
            return float("-inf")
        return self.ranked[0][1] - self.floor


def training_rows(
    knowledge: KnowledgeBase, examples: Iterable[Example] | None = None
) -> tuple[list[str], list[tuple[str, ...]]]:
    """Texts and the classes each belongs to: each entry's title, asks and errors (its own entry), then the
    examples (`None`: the knowledge's own) with every entry that answers them, or NOT_ANSWERED."""
    texts: list[str] = []
    labels: list[tuple[str, ...]] = []
    for entry in knowledge.entries.values():
        for phrasing in (entry.title, *entry.asks, *entry.errors):
            texts.append(phrasing)
            labels.append((entry.id,))
    for example in knowledge.examples if examples is None else examples:
        if example.entry is None:
            texts.append(example.text[:RERANK_MAX_TEXT])
            labels.append((NOT_ANSWERED,))
        elif example.entry in knowledge.entries:
            texts.append(example.text[:RERANK_MAX_TEXT])
            labels.append(tuple(dict.fromkeys(e for e in (example.entry, *example.also) if e in knowledge.entries)))
    return texts, labels


_TOKEN = re.compile(r"(?u)\b\w\w+\b")  # scikit-learn's default token pattern: words of two or more characters
_SPACES = re.compile(r"\s\s+")


def word_grams(text: str) -> list[str]:
    """Lower-cased words and word pairs, as scikit-learn's word analyzer with ngram_range (1, 2) makes them."""
    words = _TOKEN.findall(text.lower())
    return [*words, *(f"{a} {b}" for a, b in itertools.pairwise(words))]


def char_grams(text: str) -> list[str]:
    """Character 3- to 5-grams inside space-padded words, as scikit-learn's `char_wb` analyzer makes them."""
    grams: list[str] = []
    for word in _SPACES.sub(" ", text.lower()).split():
        padded = f" {word} "
        for size in CHAR_SIZES:
            if len(padded) <= size:
                grams.append(padded)  # a word shorter than the n-gram is one n-gram of its own
                break
            grams.extend(padded[i : i + size] for i in range(len(padded) - size + 1))
    return grams


CHAR_SIZES = (3, 4, 5)
ANALYZERS: tuple[Callable[[str], list[str]], ...] = (word_grams, char_grams)
_FORMAT = 3  # of the cached file; bump when what is stored changes


@dataclass(frozen=True, slots=True)
class _Features:
    """One of the two TF-IDF feature sets as fitted: its vocabulary and inverse document frequencies.

    Reading a message with them directly (instead of scikit-learn's `transform`) gives the same numbers without
    building sparse matrices (0.2 ms instead of ~10 ms a message), and without importing scikit-learn at all when
    the fitted re-ranker comes from the cache."""

    analyze: Callable[[str], list[str]]
    columns: dict[str, int]  # n-gram -> its row in the weight matrix, counted from `offset`
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


def cache_folder(environ: Mapping[str, str] = os.environ) -> Path:
    """Where fitted re-rankers are kept between runs: $XDG_CACHE_HOME/guidenest, else ~/.cache/guidenest (read from
    `environ`: this process's environment, or the one a process is started with)."""
    base = environ.get("XDG_CACHE_HOME") or str(Path(environ.get("HOME") or Path.home()) / ".cache")
    return Path(base) / "guidenest"


def _fingerprint(texts: Sequence[str], labels: Sequence[tuple[str, ...]]) -> str:
    digest = hashlib.sha256(f"{_FORMAT}|{RERANK_C}|{RERANK_MAX_TEXT}".encode())
    for text, label in zip(texts, labels, strict=True):
        digest.update(b"\0" + "\1".join(label).encode() + b"\0" + text.encode())
    return digest.hexdigest()[:32]


class Reranker:
    def __init__(
        self, features: Sequence[_Features], classes: Sequence[str], weights: npt.NDArray[np.float32], bias: Any
    ) -> None:
        self._features = tuple(features)
        self._classes = tuple(classes)
        self._weights = weights  # features by classes, float32: half the memory of scikit-learn's float64
        self._bias = np.asarray(bias, dtype=np.float32)

    @property
    def entries(self) -> int:
        return len(self._classes) - 1

    @property
    def classes(self) -> tuple[str, ...]:
        return self._classes

    @classmethod
    def train(
        cls, knowledge: KnowledgeBase, examples: Iterable[Example] | None = None, *, cache: Path | None = None
    ) -> Reranker | None:
        """Trained on `knowledge` (and `examples` instead of its own, for measuring on held-out folds); None when
        the knowledge is too large or nothing teaches it what to leave alone. With `cache`, a re-ranker fitted on
        the same texts before is read from there instead (and a new one is written there)."""
        if not 2 <= len(knowledge.entries) <= RERANK_MAX_ENTRIES:
            return None
        texts, labels = training_rows(knowledge, examples)
        if not any(NOT_ANSWERED in label for label in labels):
            return None  # without "leave it alone" examples it could only ever name an entry
        path = cache / f"reranker-{_fingerprint(texts, labels)}.npz" if cache is not None else None
        if path is not None and (cached := cls._read(path)) is not None:
            return cached
        fitted = cls._fit(texts, labels)
        if path is not None:
            fitted._write(path)
        return fitted

    @classmethod
    def _fit(cls, texts: list[str], labels: list[tuple[str, ...]]) -> Reranker:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.pipeline import FeatureUnion
        from sklearn.svm import LinearSVC

        # Word pairs carry phrases ("sent folder"); character n-grams inside words carry typos, inflections and
        # glued words ("smtpserver"). Both read through our analyzers, so that reading needs no scikit-learn.
        parts = [
            TfidfVectorizer(analyzer=word_grams, sublinear_tf=True),
            TfidfVectorizer(analyzer=char_grams, sublinear_tf=True, min_df=2),
        ]
        union = FeatureUnion([(f"part{i}", part) for i, part in enumerate(parts)])
        matrix = union.fit_transform(texts)
        # One linear SVM per class, one against the rest. A real post is often answered rightly by two or three
        # entries: it is a positive example of its best one, and left out of the others' fits rather than taught
        # as a counter-example of them. (Taught as a positive of each, the general entries that many posts also
        # name drew every such post: README, "Matching quality".) A fixed seed: liblinear shuffles its
        # coordinates, and the same knowledge should give the same answers.
        classes = sorted({label for row in labels for label in row})
        best = np.array([row[0] for row in labels], dtype=object)
        weights = np.zeros((matrix.shape[1], len(classes)), dtype=np.float32)
        bias = np.zeros(len(classes), dtype=np.float32)
        for column, name in enumerate(classes):
            kept = np.fromiter((row[0] == name or name not in row for row in labels), dtype=bool, count=len(labels))
            answers = best[kept] == name
            if answers.all() or not answers.any():  # one side only: nothing to tell apart
                bias[column] = 1.0 if answers.all() else -1.0
                continue
            model = LinearSVC(C=RERANK_C, random_state=0).fit(matrix[kept], answers)
            weights[:, column] = model.coef_[0]
            bias[column] = model.intercept_[0]
        features, offset = [], 0
        for analyze, (_, part) in zip(ANALYZERS, union.transformer_list, strict=True):  # the fitted parts
            columns = {str(gram): int(column) for gram, column in part.vocabulary_.items()}
            features.append(_Features(analyze, columns, np.asarray(part.idf_, dtype=np.float64), offset))
            offset += len(columns)
        return cls(features, classes, weights, bias)

    def _write(self, path: Path) -> None:
        """Save for the next start; a cache that cannot be written only costs that start the training."""
        arrays: dict[str, Any] = {"classes": np.array(self._classes), "weights": self._weights, "bias": self._bias}
        for i, features in enumerate(self._features):
            grams = sorted(features.columns, key=features.columns.__getitem__)
            arrays[f"grams{i}"] = np.array(grams)
            arrays[f"idf{i}"] = features.idf
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as handle:
                np.savez(handle, **arrays)
            Path(handle.name).replace(path)  # whole or not at all, for a process starting at the same time
            for old in sorted(path.parent.glob("reranker-*.npz"), key=lambda p: p.stat().st_mtime)[:-CACHE_KEPT]:
                old.unlink(missing_ok=True)
        except OSError as exc:
            log.info("cannot keep the fitted re-ranker in %s: %s", path.parent, exc)

    @classmethod
    def _read(cls, path: Path) -> Reranker | None:
        try:
            with np.load(path, allow_pickle=False) as stored:
                features, offset = [], 0
                for i, analyze in enumerate(ANALYZERS):
                    grams = stored[f"grams{i}"].tolist()
                    columns = {str(gram): column for column, gram in enumerate(grams)}
                    features.append(_Features(analyze, columns, stored[f"idf{i}"].astype(np.float64), offset))
                    offset += len(columns)
                classes = [str(c) for c in stored["classes"].tolist()]
                weights = np.ascontiguousarray(stored["weights"], dtype=np.float32)
                reranker = cls(features, classes, weights, stored["bias"])
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            log.warning("the cached re-ranker %s is unreadable (%s): training it again", path, exc)
            return None
        if weights.shape != (offset, len(classes)) or NOT_ANSWERED not in classes:
            log.warning("the cached re-ranker %s does not fit together: training it again", path)
            return None
        return reranker

    def values(self, text: str) -> npt.NDArray[np.float32]:
        """The decision value of every class for `text`, in `classes` order."""
        values = self._bias.copy()
        for features in self._features:
            features.add(text[:RERANK_MAX_TEXT], self._weights, values)
        return values

    def read(self, text: str) -> Reading:
        return Reading.of(self._classes, self.values(text))


__all__ = ["NOT_ANSWERED", "Reading", "Reranker", "cache_folder", "char_grams", "training_rows", "word_grams"]
