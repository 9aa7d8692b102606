"""The card itself: Discord's limits enforced with a real error, and the text rules for what others typed."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from bot.cards.card import (
    DESCRIPTION_LIMIT,
    FIELD_NAME_LIMIT,
    FIELD_VALUE_LIMIT,
    FOOTER_LIMIT,
    MAX_FIELDS,
    TITLE_LIMIT,
    Card,
    CardLimitError,
    Field,
    Tone,
    escape_markdown,
    fit_lines,
    shorten,
)
from bot.cards.lookups import no_provider_card, port_card
from bot.knowledge.service import KnowledgeService
from bot.matching.lookup import lookup_provider
from bot.settings import DEFAULT_KNOWLEDGE_DIR


@pytest.mark.parametrize(
    ("build", "part", "length", "limit"),
    [
        (lambda: Card(title="t" * (TITLE_LIMIT + 1), description=""), "title", TITLE_LIMIT + 1, TITLE_LIMIT),
        (lambda: Card(title="t", description="d" * 5000), "description", 5000, DESCRIPTION_LIMIT),
        (
            lambda: Card(title="t", description="", fields=(Field("f", "v"),) * 26),
            "number of fields",
            26,
            MAX_FIELDS,
        ),
        (
            lambda: Card(title="t", description="", fields=(Field("ok", "v"), Field("n" * 300, "v"))),
            "field 2 name",
            300,
            FIELD_NAME_LIMIT,
        ),
        (
            lambda: Card(title="t", description="", fields=(Field("f", "v" * 1025),)),
            "field 1 value",
            1025,
            FIELD_VALUE_LIMIT,
        ),
        (
            # The badge shares Discord's footer with the footer text.
            lambda: Card(title="t", description="", footer="f" * 2040, badge="Match 90%"),
            "footer",
            2040 + 3 + 9,
            FOOTER_LIMIT,
        ),
    ],
)
def test_a_card_over_a_limit_raises_naming_the_part(build, part: str, length: int, limit: int) -> None:
    with pytest.raises(CardLimitError) as raised:
        build()
    assert (raised.value.part, raised.value.length, raised.value.limit) == (part, length, limit)
    assert str(raised.value) == f"the card's {part} is {length} long; the limit is {limit}"
    assert isinstance(raised.value, ValueError)


def test_a_card_at_every_limit_is_fine() -> None:
    fields = tuple(Field("n" * FIELD_NAME_LIMIT, "v" * FIELD_VALUE_LIMIT) for _ in range(MAX_FIELDS))
    card = Card(title="t" * TITLE_LIMIT, description="d" * DESCRIPTION_LIMIT, fields=fields, footer="f" * 2048)
    assert card.tone is Tone.INFO  # a card says how it went only when it went some way


def test_limits_hold_under_python_optimize() -> None:
    # `python -O` removes assert statements; the limit check must not be one.
    script = textwrap.dedent(
        """
        from bot.cards.card import Card, CardLimitError
        try:
            Card(title="t" * 300, description="")
        except CardLimitError as error:
            print("refused:", error)
        else:
            print("accepted")
        """
    )
    done = subprocess.run([sys.executable, "-O", "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "refused: the card's title is 300 long; the limit is 256"


def test_footer_line_joins_badge_and_footer() -> None:
    assert Card(title="t", description="").footer_line is None
    assert Card(title="t", description="", badge="Works").footer_line == "Works"
    assert Card(title="t", description="", badge="Works", footer="in 3 ms").footer_line == "Works · in 3 ms"


def test_shorten_and_fit_lines() -> None:
    assert shorten("short", 10) == "short"
    cut = shorten("one two three four five six", 15)
    assert cut == "one two three…"
    assert len(cut) <= 15
    assert fit_lines(["aaaa", "bbbb", "cccc"], 10) == "aaaa\nbbbb"
    assert fit_lines(["x" * 50], 10) == "x" * 9 + "…"
    assert fit_lines([], 10) == ""


def test_echoed_text_loses_controls_and_never_links() -> None:
    assert escape_markdown("a\u202eb\u2066c\x1bd\ne\u2028f") == "abcd e f"
    assert escape_markdown("[x](https://evil.example/login)") == "\\[x\\]\\(https:\u200b//evil.example/login\\)"
    assert escape_markdown("<http://evil.example>") == "<http:\u200b//evil.example\\>"
    knowledge = KnowledgeService(DEFAULT_KNOWLEDGE_DIR).current.knowledge
    unknown = no_provider_card(lookup_provider(knowledge, "https://evil.example/login"), "/x {domain}")
    assert "https:\u200b//evil.example/login" in unknown.description
    no_port = port_card([], "\u202ehttps://evil.example/login")
    assert "://" not in no_port.description
    assert "\u202e" not in no_port.description
    rows = [row for row in knowledge.ports if row.port == 993]
    titled = port_card(rows, "993 \u202ehttps://evil.example/login")
    assert titled.title == "Mail ports: 993 https:\u200b//evil.example/login"
