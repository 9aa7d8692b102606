"""The neutral form of every reply, and the text rules every card follows.

A `Card` says what to show and how it went (`tone`); each surface has one renderer for it: Discord embeds
(`bot.exts.common.card_embed`), a colour terminal (`bot.cards.terminal`) and plain text (`bot.cards.text`).
Card text is written in Discord's markdown (`**bold**`, `` `code` ``, `[title](url)`), the richest of the three;
the other renderers read that markup instead of printing it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import datetime as dt

# Discord's embed limits, which every card respects so that no adapter has to cut.
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
MAX_FIELDS = 25
FOOTER_LIMIT = 2048
EMBED_TOTAL_LIMIT = 6000  # title + description + field names and values + footer, across one message

_MARKDOWN_SPECIAL = re.compile(r"([\\*_`~|>#\[\]()-])")
_MASS_MENTION = re.compile(r"@(everyone|here)")
ZERO_WIDTH_SPACE = "\u200b"
# Control and format characters (U+202E turns the rest of a line around), and line or paragraph separators.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})


class CardLimitError(ValueError):
    """A card part longer than Discord takes: raised where the card is built, not when Discord rejects it."""

    def __init__(self, part: str, length: int, limit: int) -> None:
        super().__init__(f"the card's {part} is {length} long; the limit is {limit}")
        self.part = part
        self.length = length
        self.limit = limit


class Tone(Enum):
    """How a reply went; each renderer turns it into its colour."""

    ANSWER = "answer"  # a confident answer
    UNSURE = "unsure"  # "not sure", suggestions, a partial finding
    INFO = "info"  # lookups, help, settings
    ERROR = "error"  # refusals and failures of the bot
    OK = "ok"  # a probe or discovery that found a working server
    FAIL = "fail"  # a probe or discovery that found none


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    value: str
    inline: bool = False
    aside: bool = False  # supporting detail (where an answer comes from): a terminal shows it as one dim line


@dataclass(frozen=True, slots=True)
class Card:
    title: str
    description: str
    fields: tuple[Field, ...] = ()
    footer: str | None = None
    entry_id: str | None = None  # the knowledge entry shown, for feedback buttons
    tone: Tone = Tone.INFO
    # A short verdict ("Match 96% · confident"): next to the title in a terminal, first in Discord's footer.
    badge: str | None = None

    def __post_init__(self) -> None:
        _check("title", len(self.title), TITLE_LIMIT)
        _check("description", len(self.description), DESCRIPTION_LIMIT)
        _check("number of fields", len(self.fields), MAX_FIELDS)
        for index, field in enumerate(self.fields, 1):
            _check(f"field {index} name", len(field.name), FIELD_NAME_LIMIT)
            _check(f"field {index} value", len(field.value), FIELD_VALUE_LIMIT)
        _check("footer", len(self.footer_line or ""), FOOTER_LIMIT)

    @property
    def footer_line(self) -> str | None:
        """The badge and the footer as one line, as a surface without room beside the title shows them."""
        parts = [part for part in (self.badge, self.footer) if part]
        return " · ".join(parts) or None


def _check(part: str, length: int, limit: int) -> None:
    if length > limit:
        raise CardLimitError(part, length, limit)


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
    return text.replace("://", ":" + ZERO_WIDTH_SPACE + "//")


def escape_markdown(text: str) -> str:
    """Show user-supplied text literally in Discord markdown: no controls, no markdown, no link, no mass mention.

    The bot also sends every message with mentions disabled; this keeps the echoed text from even looking like one.
    Echoed text never becomes a link in the bot's voice, so a pasted `https://...` stays plain text.
    """
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", strip_controls(text))
    return break_links(_MASS_MENTION.sub(lambda m: "@" + ZERO_WIDTH_SPACE + m.group(1), escaped))


def shorten(text: str, limit: int) -> str:
    """Cut at a word boundary with an ellipsis, never above `limit` characters."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip() + "…"


def fit_lines(lines: list[str], limit: int) -> str:
    """As many whole lines as fit in `limit` characters (at least the first, shortened)."""
    if not lines:
        return ""
    kept: list[str] = []
    used = 0
    for line in lines:
        if used + len(line) + 1 > limit:
            break
        kept.append(line)
        used += len(line) + 1
    return "\n".join(kept) or shorten(lines[0], limit)


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
