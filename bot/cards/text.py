"""A card as plain text, for pipes, files and anything that is not a terminal: no colour, no markdown markers.

Lines are not wrapped (a pipe has no width; `grep` sees whole lines). A link shows as `title <url>`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.cards.markup import Line, parse

if TYPE_CHECKING:
    from bot.cards.card import Card, Field

CODE_INDENT = "    "
VALUE_INDENT = "  "


def line_text(line: Line) -> str:
    if line.code:
        return CODE_INDENT + line.plain
    parts = []
    for span in line.spans:
        if span.url is None or span.url == span.text:
            parts.append(span.url or span.text)
        else:
            parts.append(f"{span.text} <{span.url}>")
    return line.marker + "".join(parts)


def markup_text(text: str) -> list[str]:
    return [line_text(line) for line in parse(text)]


def _field_lines(field: Field) -> list[str]:
    value = markup_text(field.value)
    if len(value) == 1:
        return [f"{field.name}: {value[0]}"]
    return [f"{field.name}:", *(VALUE_INDENT + line if line else "" for line in value)]


def render_text(card: Card) -> str:
    """The title, the description, each field as `Name: value` (a longer value indented below), the footer."""
    lines = [f"== {card.title} =="]
    if card.description:
        lines += markup_text(card.description)
    previous_long = True
    for field in card.fields:
        shown = _field_lines(field)
        long = len(shown) > 1
        # A gap before the first field and around a field of several lines; one-line fields stay together.
        if previous_long or long:
            lines.append("")
        lines += shown
        previous_long = long
    footer = card.footer_line
    if footer:
        lines += ["", f"({footer})"]
    return "\n".join(lines)
