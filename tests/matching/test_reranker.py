"""The re-ranker: what it learns from, how the matcher uses it, and when there is none."""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING

import numpy as np

from bot.knowledge.model import Example
from bot.matching.matcher import Matcher
from bot.matching.reranker import NOT_ANSWERED, Reranker, _Features, char_grams, training_rows, word_grams
from bot.matching.tuning import LEVELS, RERANK_MAX_ENTRIES
from bot.settings import Confidence

if TYPE_CHECKING:
    from pathlib import Path

    import pytest

    from bot.knowledge.model import KnowledgeBase

# Symptoms in people's words, none of whose wording the fixture's phrasings hold.
_EXAMPLES = (
    Example("the app keeps saying my password is wrong but it is right", "auth-failed-535"),
    Example("it refuses my login every time even though I typed it correctly", "auth-failed-535"),
    Example("npm install fails with self signed certificate in certificate chain", None),
    Example("my minecraft server says connection timed out", None),
    Example("lol same here", None),
)


def _with_examples(knowledge: KnowledgeBase, examples: tuple[Example, ...]) -> KnowledgeBase:
    return dataclasses.replace(knowledge, examples=examples)


def test_no_reranker_without_examples_of_what_to_leave_alone(fixture_kb: KnowledgeBase) -> None:
    assert fixture_kb.examples == ()
    assert Reranker.train(fixture_kb) is None
    assert Matcher(fixture_kb).reranker is None
    only_answers = _with_examples(fixture_kb, _EXAMPLES[:2])
    assert Reranker.train(only_answers) is None


def test_training_rows_hold_every_phrasing_and_the_examples(fixture_kb: KnowledgeBase) -> None:
    knowledge = _with_examples(fixture_kb, _EXAMPLES)
    texts, labels = training_rows(knowledge)
    phrasings = sum(1 + len(e.asks) + len(e.errors) for e in fixture_kb.entries.values())
    assert len(texts) == phrasings + len(_EXAMPLES)
    assert labels[-1] == (NOT_ANSWERED,)
    assert labels[phrasings] == ("auth-failed-535",)
    # An example naming an entry the knowledge no longer has is skipped, not learned as something else.
    stale = _with_examples(fixture_kb, (*_EXAMPLES, Example("text", "gone-entry")))
    assert len(training_rows(stale)[0]) == len(texts)


def test_an_example_is_no_counter_example_of_its_other_right_entries(fixture_kb: KnowledgeBase) -> None:
    """A post that a second entry answers rightly too (`also`) teaches its best entry and is left out of the
    second's fit, instead of teaching the second that such posts are not its own."""
    first, second = "auth-failed-535", next(e for e in fixture_kb.entries if e != "auth-failed-535")
    post = "the app keeps saying my password is wrong but it is right"
    only_first = (Example(post, first), *_EXAMPLES[1:])
    both = (Example(post, first, (second,)), *_EXAMPLES[1:])
    texts, labels = training_rows(_with_examples(fixture_kb, both))
    assert labels[texts.index(post)] == (first, second)
    narrow, wide = (Reranker.train(_with_examples(fixture_kb, rows)) for rows in (only_first, both))
    assert narrow is not None
    assert wide is not None
    value = lambda reranker, entry: float(reranker.values(post)[reranker.classes.index(entry)])  # noqa: E731
    assert value(wide, second) > value(narrow, second) + 0.05
    assert value(wide, first) > 0
    assert wide.read(post).best == first


def test_the_reranker_learns_from_examples(fixture_kb: KnowledgeBase) -> None:
    assert "auth-failed-535" in fixture_kb.entries
    reranker = Reranker.train(_with_examples(fixture_kb, _EXAMPLES))
    assert reranker is not None
    assert reranker.entries == len(fixture_kb.entries)
    reading = reranker.read("it keeps refusing my password although it is correct")
    assert reading.best == "auth-failed-535"
    assert reading.certainty > 0
    unrelated = reranker.read("npm install self signed certificate in certificate chain error")
    assert unrelated.not_answered > unrelated.ranked[0][1]
    assert unrelated.certainty < 0


def test_a_shared_reranker_and_none(fixture_kb: KnowledgeBase) -> None:
    knowledge = _with_examples(fixture_kb, _EXAMPLES)
    trained = Matcher(knowledge)
    assert trained.reranker is not None
    shared = Matcher(knowledge, reranker=trained.reranker)
    assert shared.reranker is trained.reranker
    assert Matcher(knowledge, reranker=None).reranker is None


def test_too_large_a_knowledge_base_is_matched_lexically(fixture_kb: KnowledgeBase) -> None:
    entry = next(iter(fixture_kb.entries.values()))
    many = {f"e{i}": dataclasses.replace(entry, id=f"e{i}") for i in range(RERANK_MAX_ENTRIES + 1)}
    assert Reranker.train(dataclasses.replace(fixture_kb, entries=many, examples=_EXAMPLES)) is None


def test_the_shipped_matcher_reads_symptoms_and_keeps_verbatim_errors(
    shipped_kb: KnowledgeBase, shipped_matcher: Matcher
) -> None:
    assert shipped_matcher.reranker is not None
    lexical = Matcher(shipped_kb, reranker=None)
    # Described, not named.
    symptom = "my sent mails vanish from the sent folder on my phone"
    assert shipped_matcher.match(symptom).best.entry.id == "sent-not-saved"  # type: ignore[union-attr]
    # A pasted error that is one of the phrasings word for word keeps the lexical reading's entry, confidently.
    pasted = "535 5.7.8 Username and Password not accepted"
    assert shipped_matcher.match(pasted).best == lexical.match(pasted).best
    assert shipped_matcher.match(pasted).confident
    # Other tools' errors and chatter stay unanswered.
    for text in ("npm ERR! self signed certificate in certificate chain", "thanks all, have a good one"):
        assert not shipped_matcher.match(text, level=Confidence.RELAXED).confident
    assert LEVELS[Confidence.STRICT].answer >= LEVELS[Confidence.NORMAL].answer >= LEVELS[Confidence.RELAXED].answer


def test_reading_features_directly_gives_what_scikit_learn_transform_gives() -> None:
    """The re-ranker reads a message without scikit-learn's `transform`; the numbers must be the same."""
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer

    corpus = [e.text for e in _EXAMPLES] + ["SMTP AUTH is disabled for the tenant", "imaps 993 ssl/tls"]
    messages = ["My password is WRONG?? smtp auth disabled", "ssl on 993", "nothing known here", "", "é ü 日本"]
    for vectorizer in (
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, min_df=1),
    ):
        vectorizer.fit(corpus)
        weights = np.random.default_rng(1).normal(size=(len(vectorizer.vocabulary_), 3)).astype(np.float32)
        features = _Features(vectorizer.build_analyzer(), dict(vectorizer.vocabulary_), vectorizer.idf_, 0)
        for message in messages:
            direct = np.zeros(3, dtype=np.float32)
            features.add(message, weights, direct)
            expected = np.asarray(vectorizer.transform([message]) @ weights).ravel()
            assert np.allclose(direct, expected, atol=1e-5), message


def test_our_analyzers_make_the_n_grams_scikit_learn_makes(shipped_kb: KnowledgeBase) -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer

    words = TfidfVectorizer(ngram_range=(1, 2)).build_analyzer()
    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5)).build_analyzer()
    texts = [e.text for e in shipped_kb.examples] + ["", "a", "ab  \t cd\n\nÉTÉ", "x" * 3, "0x800CCC0E:993"]
    assert len(texts) > 1000
    for text in texts:
        assert word_grams(text) == words(text), text[:60]
        assert char_grams(text) == chars(text), text[:60]


def test_a_fitted_reranker_is_read_back_from_the_cache(
    fixture_kb: KnowledgeBase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    knowledge = _with_examples(fixture_kb, _EXAMPLES)
    fitted = Reranker.train(knowledge, cache=tmp_path)
    assert fitted is not None
    [stored] = tmp_path.glob("reranker-*.npz")

    def no_fitting(*args: object) -> None:
        raise AssertionError("fitted again although the cache holds it")

    monkeypatch.setattr(Reranker, "_fit", classmethod(no_fitting))
    cached = Reranker.train(knowledge, cache=tmp_path)
    assert cached is not None
    assert cached.classes == fitted.classes
    for text in ("password refused", "minecraft timed out", ""):
        assert np.array_equal(cached.values(text), fitted.values(text))
    # Other knowledge is another file, not a stale read.
    other = _with_examples(fixture_kb, _EXAMPLES[1:])
    monkeypatch.undo()
    assert Reranker.train(other, cache=tmp_path) is not None
    assert len(list(tmp_path.glob("reranker-*.npz"))) == 2
    assert stored.exists()


def test_a_damaged_cache_file_is_fitted_again(
    fixture_kb: KnowledgeBase, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    knowledge = _with_examples(fixture_kb, _EXAMPLES)
    fitted = Reranker.train(knowledge, cache=tmp_path)
    assert fitted is not None
    [stored] = tmp_path.glob("reranker-*.npz")
    stored.write_bytes(stored.read_bytes()[:1000])
    with caplog.at_level(logging.WARNING):
        again = Reranker.train(knowledge, cache=tmp_path)
    assert again is not None
    assert np.allclose(again.values("password refused"), fitted.values("password refused"), atol=1e-4)
    assert any("unreadable" in r.getMessage() for r in caplog.records)
    assert all(r.exc_info is None for r in caplog.records)


def test_an_unwritable_cache_still_gives_a_reranker(fixture_kb: KnowledgeBase, tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    assert Reranker.train(_with_examples(fixture_kb, _EXAMPLES), cache=blocked / "cache") is not None
