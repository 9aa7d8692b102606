"""What an answer looks like, independent of where it is shown.

A `Card` is the neutral form of every reply: the Discord cogs turn it into an embed, the command line prints it as
text. Both take the answer text from `Entry.answer` unchanged, so `guidenest ask` prints what the bot posts.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.knowledge.model import SECURITY_LABELS, Entry, PortRow, Provider, ServerSetting

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Iterable

    from bot.matching.lookup import ProviderLookup
    from bot.matching.matcher import MatchResult, Scored

# Discord's embed limits, which every card respects so that no adapter has to cut.
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
MAX_FIELDS = 25
FOOTER_LIMIT = 2048

_MARKDOWN_SPECIAL = re.compile(r"([\\*_`~|>#\[\]()-])")
_MASS_MENTION = re.compile(r"@(everyone|here)")
_ZERO_WIDTH_SPACE = "\u200b"
# Control and format characters (U+202E turns the rest of a line around), and line or paragraph separators.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})


def strip_controls(text: str) -> str:
    """Text from outside the bot without control or invisible format characters; a line break becomes a space."""
    kept = []
    for char in text:
        if char in "\t\n\r\u2028\u2029":
            kept.append(" ")
        elif unicodedata.category(char) not in _INVISIBLE_CATEGORIES:
            kept.append(char)
    return "".join(kept)


def break_links(text: str) -> str:
    """Discord turns `scheme://...` into a link; a zero-width space after the colon keeps it plain text."""
    return text.replace("://", ":" + _ZERO_WIDTH_SPACE + "//")


def escape_markdown(text: str) -> str:
    """Show user-supplied text literally in Discord markdown: no controls, no markdown, no link, no mass mention.

    The bot also sends every message with mentions disabled; this keeps the echoed text from even looking like one.
    Echoed text never becomes a link in the bot's voice, so a pasted `https://...` stays plain text.
    """
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", strip_controls(text))
    return break_links(_MASS_MENTION.sub(lambda m: "@" + _ZERO_WIDTH_SPACE + m.group(1), escaped))


def shorten(text: str, limit: int) -> str:
    """Cut at a word boundary with an ellipsis, never above `limit` characters."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip() + "…"


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    value: str
    inline: bool = False


@dataclass(frozen=True, slots=True)
class Card:
    title: str
    description: str
    fields: tuple[Field, ...] = ()
    footer: str | None = None
    entry_id: str | None = None  # the knowledge entry shown, for feedback buttons

    def __post_init__(self) -> None:
        # Fail where a card is built, not when Discord rejects it.
        assert len(self.title) <= TITLE_LIMIT, self.title
        assert len(self.description) <= DESCRIPTION_LIMIT
        assert len(self.fields) <= MAX_FIELDS
        for field in self.fields:
            assert len(field.name) <= FIELD_NAME_LIMIT, field
            assert len(field.value) <= FIELD_VALUE_LIMIT, field
        assert self.footer is None or len(self.footer) <= FOOTER_LIMIT

    def to_text(self) -> str:
        """The card as plain text for a terminal."""
        parts = [f"== {self.title} ==", self.description]
        parts.extend(f"\n{field.name}:\n{field.value}" for field in self.fields)
        if self.footer:
            parts.append(f"\n({self.footer})")
        return "\n".join(part for part in parts if part)


def confidence_label(scored: Scored, confident: bool) -> str:
    return f"Match {scored.score:.0f}% · {'confident' if confident else 'not sure'}"


_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def month_text(day: dt.date) -> str:
    """ "January 2026", in English whatever the machine's locale."""
    return f"{_MONTHS[day.month - 1]} {day.year}"


def sources_text(entry: Entry) -> str:
    """The "Source" field of every card that shows an entry, ending with the month it was checked if known."""
    items = [f"[{source.title}]({source.url})" if source.url else source.title for source in entry.sources]
    as_of = f" · as of {month_text(entry.as_of)}" if entry.as_of is not None else ""
    # The date survives a cut: it is what tells a reader how current the answer is.
    return shorten(" · ".join(items), FIELD_VALUE_LIMIT - len(as_of)) + as_of


def answer_card(scored: Scored, *, confident: bool) -> Card:
    entry = scored.entry
    return Card(
        title=shorten(entry.title, TITLE_LIMIT),
        description=entry.answer,
        fields=(Field("Source", sources_text(entry)),),
        footer=confidence_label(scored, confident),
        entry_id=entry.id,
    )


def suggestions_text(suggestions: Iterable[Scored]) -> str:
    return "\n".join(f"• **{s.entry.title}** (`{s.entry.id}`, {s.score:.0f}%)" for s in suggestions)


def not_sure_card(result: MatchResult) -> Card:
    """For an explicit question with no good match: say so, and offer what came closest."""
    suggestions = result.suggestions if result.best is None else (result.best, *result.suggestions)
    if suggestions:
        description = "I'm not sure I understood. Did you mean one of these?\n" + suggestions_text(
            suggestions
        )
    else:
        description = (
            "I don't have an answer for that. Try the exact error message, the program you use, "
            "or ask about a port (`993`, `smtp`) or a provider (`gmail`)."
        )
    return Card(title="Not sure", description=shorten(description, DESCRIPTION_LIMIT))


def result_card(result: MatchResult) -> Card:
    """The reply to an explicit question (/ask, `guidenest ask`): the best match, or "not sure"."""
    if result.best is None:
        return not_sure_card(result)
    card = answer_card(result.best, confident=result.confident)
    if result.confident or not result.suggestions:
        return card
    others = Field("Did you mean", shorten(suggestions_text(result.suggestions), FIELD_VALUE_LIMIT))
    return Card(card.title, card.description, (*card.fields, others), card.footer, card.entry_id)


# --- Ports and providers ------------------------------------------------------------------------------------------

_STATUS_LABELS = {
    "recommended": "recommended",
    "acceptable": "acceptable",
    "legacy": "legacy",
    "often-blocked": "often blocked",
    "unofficial": "unofficial",
}


def port_line(row: PortRow) -> str:
    return (
        f"**{row.protocol} {row.port}** · {SECURITY_LABELS[row.security]} · {row.direction} · "
        f"{_STATUS_LABELS[row.status]}"
    )


def port_card(rows: list[PortRow], query: str = "") -> Card:
    """One protocol or port: every matching row with its notes; several rows become a compact table."""
    if not rows:
        return Card(
            title="No such mail port",
            description=shorten(
                f"Nothing in the port table matches {escape_markdown(query)!s}. "
                "Try a protocol (`imap`, `pop3`, `smtp`), a number (`993`) or a security mode (`starttls`).",
                DESCRIPTION_LIMIT,
            ),
        )
    if len(rows) == 1 or (len(rows) <= MAX_FIELDS and query):
        fields = tuple(
            Field(
                shorten(f"{row.protocol} {row.port} — {SECURITY_LABELS[row.security]}", FIELD_NAME_LIMIT),
                shorten(
                    f"{row.direction.capitalize()} · {_STATUS_LABELS[row.status]} · `{row.name}` · "
                    f"{row.standard}\n{row.notes}",
                    FIELD_VALUE_LIMIT,
                ),
            )
            for row in rows
        )
        # The title shows the query as typed (not escaped, as before), but without controls or a link in it.
        shown = break_links(strip_controls(query))
        title = f"Mail ports: {shown}" if query else f"{rows[0].protocol} port {rows[0].port}"
        return Card(title=shorten(title, TITLE_LIMIT), description="", fields=fields, entry_id=rows[0].entry)
    return port_table_card(rows)


def port_table_card(rows: list[PortRow]) -> Card:
    lines = [port_line(row) for row in rows]
    return Card(
        title="Mail ports",
        description=shorten("\n".join(lines), DESCRIPTION_LIMIT),
        footer="Encrypted ports first: SSL/TLS on 993, 995 and 465; STARTTLS on 143, 110 and 587.",
    )


def server_line(server: ServerSetting) -> str:
    return (
        f"**{server.protocol}** `{server.host}` port **{server.port}** · {SECURITY_LABELS[server.security]}"
    )


SHOWN_DOMAINS = 8  # a provider can have a hundred domains: the card names a few and counts the rest


def provider_card(provider: Provider, lookup: ProviderLookup | None = None) -> Card:
    """A provider's settings; given the lookup that found it, also how it was found when not by its name."""
    fields = [
        Field("Incoming", "\n".join(server_line(s) for s in provider.incoming)),
        Field("Outgoing", "\n".join(server_line(s) for s in provider.outgoing)),
        Field("Sign-in", shorten(provider.auth, FIELD_VALUE_LIMIT)),
    ]
    if provider.notes:
        fields.append(Field("Notes", shorten(provider.notes, FIELD_VALUE_LIMIT)))
    fields.append(Field("Source", shorten(provider.source, FIELD_VALUE_LIMIT)))
    domains = list(provider.domains)
    if lookup is not None and lookup.domain:
        # The domain asked about first: "live.nl" is an Outlook.com domain.
        asked = [d for d in domains if lookup.domain == d or lookup.domain.endswith("." + d)]
        domains = [*asked, *(d for d in domains if d not in asked)]
    shown = ", ".join(domains[:SHOWN_DOMAINS])
    if len(domains) > SHOWN_DOMAINS:
        shown += f" and {len(domains) - SHOWN_DOMAINS} more"
    lines = [f"Domains: {shown}"] if shown else []
    if lookup is not None and lookup.matched_by == "typo":
        lines.insert(0, f"Closest name to *{escape_markdown(lookup.query)}*: {escape_markdown(provider.name)}.")
    elif lookup is not None and lookup.matched_by == "server":
        host = escape_markdown(lookup.domain or lookup.query)
        lines.insert(0, f"*{host}* is a server of {escape_markdown(provider.name)}.")
    if lookup is not None and lookup.also:
        lines.append("The same servers also serve " + ", ".join(escape_markdown(p.name) for p in lookup.also) + ".")
    return Card(
        title=shorten(f"{provider.name} mail settings", TITLE_LIMIT),
        description=shorten("\n".join(lines), DESCRIPTION_LIMIT),
        fields=tuple(fields),
        entry_id=provider.entry,
    )


def no_provider_card(lookup: ProviderLookup, discover: str) -> Card:
    """Nothing in the table matched: say so, offer the nearest names, and say how to find a domain's settings.

    `discover` is this surface's command for a domain's settings, with `{domain}` where the domain goes:
    "/mailsettings domain:{domain}" on Discord, "guidenest discover {domain}" on the command line."""
    name = lookup.query
    if not name.strip():
        # "I don't have settings for ." helps nobody: say what to type instead.
        return Card(
            title="Which provider?",
            description="Give a provider's name, a domain or an e-mail address: `gmail`, `outlook.com`, "
            "`me@yahoo.com`.",
        )
    if lookup.domain:
        lines = [
            f"*{escape_markdown(lookup.domain)}* is not a domain in my provider table.",
            (
                f"To find its settings, try `{discover.format(domain=lookup.domain)}`: it reads what the domain "
                "publishes for mail apps (autoconfig, SRV and MX records)."
            ),
        ]
    else:
        lines = [f"No provider in my table is called *{escape_markdown(name)}*."]
        if lookup.nearest:
            lines.append("Did you mean " + ", ".join(f"`{escape_markdown(p.name)}`" for p in lookup.nearest) + "?")
        lines.append(
            f"For a company's or your own domain, try `{discover.format(domain='your-domain.com')}`, "
            "or your provider's help pages."
        )
    return Card(title="Unknown provider", description=shorten("\n".join(lines), DESCRIPTION_LIMIT))
