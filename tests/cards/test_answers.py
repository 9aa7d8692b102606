"""Answer cards: the entry's text unchanged, how sure the match is, and a tone that says it once for every surface."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from bot.cards.answers import answer_card, entry_card, not_sure_card, picked_card, result_card
from bot.cards.card import Tone
from bot.cards.lookups import no_provider_card, port_card, port_table_card, provider_card
from bot.knowledge.model import Entry, Source
from bot.knowledge.service import KnowledgeService
from bot.matching.lookup import lookup_provider
from bot.matching.matcher import MatchResult, Scored
from bot.settings import DEFAULT_KNOWLEDGE_DIR


def make_entry(entry_id: str, title: str) -> Entry:
    return Entry(
        id=entry_id,
        title=title,
        asks=("q",),
        errors=(),
        tags=(),
        related=(),
        sources=(Source("RFC 8314 — Cleartext Considered Obsolete", "https://www.rfc-editor.org/rfc/rfc8314"),),
        answer="**Use 993** with `SSL/TLS`.",
        path=Path(f"/kb/entries/{entry_id}.md"),
    )


IMAP = make_entry("imap-ports", "IMAP ports")
SMTP = make_entry("smtp-ports", "SMTP ports")


def test_a_confident_answer() -> None:
    card = answer_card(Scored(IMAP, 96.4), confident=True)
    assert (card.title, card.description, card.entry_id) == ("IMAP ports", IMAP.answer, "imap-ports")
    assert card.tone is Tone.ANSWER
    assert card.badge == "Match 96% · confident"
    assert card.footer is None
    (source,) = card.fields
    assert source.aside
    assert source.value == "[RFC 8314 — Cleartext Considered Obsolete](https://www.rfc-editor.org/rfc/rfc8314)"


def test_an_answer_with_doubts_offers_the_others() -> None:
    result = MatchResult("imap", (Scored(IMAP, 61.0), Scored(SMTP, 48.0)), confident=False)
    card = result_card(result)
    assert card.tone is Tone.UNSURE
    assert card.badge == "Match 61% · not sure"
    assert [field.name for field in card.fields] == ["Source", "Did you mean"]
    assert card.fields[1].value == "• **SMTP ports** (`smtp-ports`, 48%)"
    confident = result_card(MatchResult("imap", (Scored(IMAP, 91.0), Scored(SMTP, 48.0)), confident=True))
    assert confident.tone is Tone.ANSWER
    assert [field.name for field in confident.fields] == ["Source"]


def test_no_match_is_not_sure() -> None:
    card = result_card(MatchResult("zzz", (), confident=False, near=(Scored(SMTP, 20.0),)))
    assert (card.title, card.tone) == ("Not sure", Tone.UNSURE)
    assert "**SMTP ports**" in card.description
    empty = not_sure_card(MatchResult("zzz", (), confident=False))
    assert empty.description.startswith("I don't have an answer for that.")


def test_an_error_other_programs_print_asks_whether_it_is_from_a_mail_app() -> None:
    # The best entry's errors come from any TLS client, and the message named no mail app, port or server.
    result = MatchResult("wrong version number", (Scored(IMAP, 70.0),), confident=False, wants_mail_context=True)
    unsure = not_sure_card(result)
    assert unsure.description.startswith("Many programs besides mail apps show this.")
    assert "server and port" in unsure.description
    assert "**IMAP ports**" in unsure.description
    asked = result_card(result)  # by command: the answer, marked not sure, with the reason
    assert asked.badge == "Match 70% · not sure"
    assert [field.name for field in asked.fields] == ["Source", "From a mail app?"]
    plain = not_sure_card(replace(result, wants_mail_context=False))
    assert plain.description.startswith("I'm not sure I understood.")
    assert [field.name for field in result_card(replace(result, wants_mail_context=False)).fields] == ["Source"]


def test_picked_and_entry_cards_show_the_entry() -> None:
    picked = picked_card(IMAP, 88.0)
    assert (picked.tone, picked.entry_id) == (Tone.ANSWER, "imap-ports")
    assert picked.badge == "Match 88% · picked from the suggestions"
    assert picked_card(IMAP, None).badge == "Picked from the suggestions"
    shown = entry_card(IMAP)
    assert (shown.tone, shown.badge, shown.footer) == (Tone.INFO, None, "Knowledge entry: imap-ports")
    assert shown.description == IMAP.answer


def test_lookup_tones() -> None:
    knowledge = KnowledgeService(DEFAULT_KNOWLEDGE_DIR).current.knowledge
    assert port_table_card(list(knowledge.ports)).tone is Tone.INFO
    assert port_card([row for row in knowledge.ports if row.port == 993], "993").tone is Tone.INFO
    assert port_card([], "8080").tone is Tone.UNSURE
    found = lookup_provider(knowledge, "gmail")
    assert found.match is not None
    gmail = provider_card(found.match, found)
    assert gmail.tone is Tone.INFO
    assert [field.name for field in gmail.fields if field.aside] == ["Source"]
    assert no_provider_card(lookup_provider(knowledge, "qwertyuiop"), "x {domain}").tone is Tone.UNSURE
    assert no_provider_card(lookup_provider(knowledge, "  "), "x {domain}").tone is Tone.UNSURE
