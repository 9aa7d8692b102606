"""`as_of`: the month an entry was last checked; read, validated, flagged when old, shown on every answer card."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot.cards.answers import answer_card, sources_text
from bot.cards.card import FIELD_VALUE_LIMIT, month_text
from bot.cards.text import render_text
from bot.knowledge.loader import check_knowledge, load_knowledge
from bot.knowledge.model import Entry, Source
from bot.matching.matcher import Scored
from tests.knowledge.conftest import WriteKB, entry_text

TODAY = dt.date(2026, 12, 1)


def with_as_of(value: str) -> str:
    return entry_text(related="beta").replace("title: Alpha\n", f"title: Alpha\nas_of: {value}\n")


@pytest.mark.parametrize(
    ("written", "month"),
    [("2026-01", dt.date(2026, 1, 1)), ('"2025-11"', dt.date(2025, 11, 1)), ("2026-01-15", dt.date(2026, 1, 1))],
    ids=["YYYY-MM", "quoted", "a YAML date"],
)
def test_as_of_is_read_as_a_month(write_kb: WriteKB, written: str, month: dt.date) -> None:
    knowledge = load_knowledge(write_kb({"entries/alpha.md": with_as_of(written)}))
    assert knowledge.entries["alpha"].as_of == month
    assert knowledge.entries["beta"].as_of is None


@pytest.mark.parametrize(
    ("written", "shown"),
    [
        ("January 2026", "'January 2026'"),
        ("2026-13", "'2026-13'"),
        ("2026-1", "'2026-1'"),
        ("202601", "202601"),
        ("2026/01", "'2026/01'"),
        ("''", "''"),
    ],
)
def test_invalid_as_of_is_an_error_at_its_line(write_kb: WriteKB, written: str, shown: str) -> None:
    root = write_kb({"entries/alpha.md": with_as_of(written)})
    knowledge, problems = check_knowledge(root, today=TODAY)
    assert knowledge is None
    assert [p.format(root) for p in problems] == [
        f"knowledge/entries/alpha.md:3: as_of: expected a month written YYYY-MM (e.g. 2026-01), not {shown}"
    ]


def warnings_of(root: Path, today: dt.date) -> list[str]:
    knowledge, problems = check_knowledge(root, today=today)
    assert knowledge is not None
    return [p.format(root) for p in problems]


def test_as_of_older_than_twelve_months_is_a_warning(write_kb: WriteKB) -> None:
    assert warnings_of(write_kb({"entries/alpha.md": with_as_of("2025-12")}), TODAY) == []
    assert warnings_of(write_kb({"entries/alpha.md": with_as_of("2025-11")}), TODAY) == [
        ("knowledge/entries/alpha.md:3: warning: as_of 2025-11 is 13 months old (over 12): "
        "check the answer against its sources, then update as_of")
    ]
    assert warnings_of(write_kb({"entries/alpha.md": with_as_of("2027-01")}), TODAY) == [
        "knowledge/entries/alpha.md:3: warning: as_of 2027-01 is in the future"
    ]


def make_entry(as_of: dt.date | None, sources: tuple[Source, ...] | None = None) -> Entry:
    return Entry(
        id="imap-ports",
        title="IMAP ports",
        asks=("imap port",),
        errors=(),
        tags=("imap",),
        related=(),
        sources=sources or (Source("RFC 8314", "https://www.rfc-editor.org/rfc/rfc8314"),),
        answer="Use 993.",
        path=Path("/kb/entries/imap-ports.md"),
        as_of=as_of,
    )


def test_month_text_is_english() -> None:
    assert month_text(dt.date(2026, 1, 1)) == "January 2026"
    assert month_text(dt.date(2025, 12, 1)) == "December 2025"


def test_answer_card_shows_as_of() -> None:
    card = answer_card(Scored(make_entry(dt.date(2026, 1, 1)), 96.0), confident=True)
    (source,) = card.fields
    assert source.value == "[RFC 8314](https://www.rfc-editor.org/rfc/rfc8314) · as of January 2026"
    assert "as of January 2026" in render_text(card)
    undated = answer_card(Scored(make_entry(None), 96.0), confident=True)
    assert "as of" not in render_text(undated)


def test_as_of_survives_a_long_source_list() -> None:
    many = tuple(Source(f"Source number {i} " + "x" * 40, f"https://example.com/{i}") for i in range(40))
    text = sources_text(make_entry(dt.date(2026, 3, 1), many))
    assert len(text) <= FIELD_VALUE_LIMIT
    assert text.endswith(" · as of March 2026")


def test_every_card_showing_an_entry_carries_as_of() -> None:
    # The answer card (bot and CLI), the "Did you mean" pick and the probe report all take the Source field
    # from sources_text; the pick is built apart from answer_card, so it is checked on its own.
    from bot.cards.answers import picked_card

    card = picked_card(make_entry(dt.date(2026, 1, 1)), 88.0)
    assert any(field.value.endswith("as of January 2026") for field in card.fields)


def test_an_impossible_date_is_an_error_at_its_line(write_kb: WriteKB) -> None:
    root = write_kb({"entries/alpha.md": with_as_of("2026-02-30")})
    knowledge, problems = check_knowledge(root, today=TODAY)
    assert knowledge is None
    assert [p.format(root) for p in problems] == [
        ("knowledge/entries/alpha.md:3: front matter is not valid YAML: "
        "'2026-02-30' is not a real date (day is out of range for month)")
    ]
