"""Cards that show a knowledge entry as an answer, or say that no entry fits.

Every surface takes the answer text from `Entry.answer` unchanged, so `guidenest ask` prints what the bot posts.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from bot.cards.card import (
    DESCRIPTION_LIMIT,
    FIELD_VALUE_LIMIT,
    TITLE_LIMIT,
    Card,
    Field,
    Tone,
    escape_markdown,
    month_text,
    shorten,
)

if TYPE_CHECKING:
    from collections.abc import Iterable

    from bot.knowledge.model import Entry
    from bot.matching.matcher import MatchResult, Scored


def confidence_label(scored: Scored, confident: bool) -> str:
    return f"Match {scored.score:.0f}% · {'confident' if confident else 'not sure'}"


def sources_text(entry: Entry) -> str:
    """The "Source" field of every card that shows an entry, ending with the month it was checked if known."""
    items = [f"[{source.title}]({source.url})" if source.url else source.title for source in entry.sources]
    as_of = f" · as of {month_text(entry.as_of)}" if entry.as_of is not None else ""
    # The date survives a cut: it is what tells a reader how current the answer is.
    return shorten(" · ".join(items), FIELD_VALUE_LIMIT - len(as_of)) + as_of


def source_field(entry: Entry) -> Field:
    return Field("Source", sources_text(entry), aside=True)


def answer_card(scored: Scored, *, confident: bool) -> Card:
    entry = scored.entry
    return Card(
        title=shorten(entry.title, TITLE_LIMIT),
        description=entry.answer,
        fields=(source_field(entry),),
        badge=confidence_label(scored, confident),
        entry_id=entry.id,
        tone=Tone.ANSWER if confident else Tone.UNSURE,
    )


def picked_card(entry: Entry, score: float | None) -> Card:
    """An answer picked from the suggestions: the entry as an answer card, with its match score if known."""
    badge = "Picked from the suggestions" if score is None else f"Match {score:.0f}% · picked from the suggestions"
    return Card(
        title=shorten(entry.title, TITLE_LIMIT),
        description=entry.answer,
        fields=(source_field(entry),),
        badge=badge,
        entry_id=entry.id,
        tone=Tone.ANSWER,
    )


def entry_card(entry: Entry) -> Card:
    """An entry asked for by its id (`/entry ID` in `guidenest chat`): no match score, its id in the footer."""
    return Card(
        title=shorten(entry.title, TITLE_LIMIT),
        description=entry.answer,
        fields=(source_field(entry),),
        footer=f"Knowledge entry: {entry.id}",
        entry_id=entry.id,
        tone=Tone.INFO,
    )


def suggestions_text(suggestions: Iterable[Scored]) -> str:
    return "\n".join(f"• **{s.entry.title}** (`{s.entry.id}`, {s.score:.0f}%)" for s in suggestions)


# Said when the best entry's errors or symptoms are other programs' too and the message does not say it is about mail.
OTHER_PROGRAMS = "Many programs besides mail apps show this."
MAIL_CONTEXT_FIELD = "From a mail app?"
MAIL_CONTEXT_TEXT = (
    f"{OTHER_PROGRAMS} This answer is for mail apps and mail code; if yours is, say which one "
    "(for an error, with the server and port)."
)


def not_sure_card(result: MatchResult) -> Card:
    """For an explicit question with no good match: say so, and offer what came closest."""
    suggestions = result.suggestions if result.best is None else (result.best, *result.suggestions)
    if suggestions and result.wants_mail_context:
        description = (
            f"{OTHER_PROGRAMS} If yours is a mail app or mail code, say which one (for an error, with the server and "
            "port), and I can answer. Is it one of these?\n" + suggestions_text(suggestions)
        )
    elif suggestions:
        description = "I'm not sure I understood. Did you mean one of these?\n" + suggestions_text(suggestions)
    else:
        description = (
            "I don't have an answer for that. Try the exact error message, the program you use, "
            "or ask about a port (`993`, `smtp`) or a provider (`gmail`)."
        )
    return Card(title="Not sure", description=shorten(description, DESCRIPTION_LIMIT), tone=Tone.UNSURE)


def result_card(result: MatchResult) -> Card:
    """The reply to an explicit question (/ask, `guidenest ask`): the best match, or "not sure"."""
    if result.best is None:
        return not_sure_card(result)
    card = answer_card(result.best, confident=result.confident)
    if result.confident:
        return card
    if result.wants_mail_context:
        card = replace(card, fields=(*card.fields, Field(MAIL_CONTEXT_FIELD, MAIL_CONTEXT_TEXT)))
    if not result.suggestions:
        return card
    others = Field("Did you mean", shorten(suggestions_text(result.suggestions), FIELD_VALUE_LIMIT))
    return replace(card, fields=(*card.fields, others))


# How much of a screenshot's text a reply quotes: enough to recognise it, not the whole screen.
SCREENSHOT_QUOTE_LIMIT = 200


def screenshot_line(image_text: str) -> str:
    """"From your screenshot: *…*": what the bot read, shortened, shown literally (it is the sender's text)."""
    return f"From your screenshot: *{escape_markdown(shorten(' '.join(image_text.split()), SCREENSHOT_QUOTE_LIMIT))}*"


def with_screenshot_text(card: Card, image_text: str) -> Card:
    """`card` with what was read from a screenshot as its first line, so the reader sees what was answered."""
    line = screenshot_line(image_text)
    description = shorten(card.description, DESCRIPTION_LIMIT - len(line) - 2)
    return replace(card, description=f"{line}\n\n{description}")
