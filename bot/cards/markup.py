"""Card text read as lines of styled spans, for the surfaces that do not speak Discord's markdown.

Discord's markdown is line-based: one newline is one line break, a blank line a gap. This reads the part of it
cards use — `**bold**`, `*italic*`, `` `code` ``, `[title](url)`, backslash escapes, fenced code blocks and list
lines (`• `, `- `, `1. `) — so that the terminal and the plain-text renderers show the same content. Anything else
is kept as text. The zero-width spaces that keep echoed links and mentions inert in Discord are dropped: a
terminal makes nothing of them but a broken copy and paste.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from bot.cards.card import ZERO_WIDTH_SPACE


@dataclass(frozen=True, slots=True)
class Span:
    text: str
    bold: bool = False
    italic: bool = False
    code: bool = False
    url: str | None = None  # the span is the title of a link to this address


@dataclass(frozen=True, slots=True)
class Line:
    spans: tuple[Span, ...] = ()
    marker: str = ""  # a list item's bullet or number (with its space): wrapped lines hang after it
    code: bool = False  # a line of a fenced code block: shown as it is

    @property
    def plain(self) -> str:
        return "".join(span.text for span in self.spans)


_FENCE = "```"
_LIST_ITEM = re.compile(r"(?P<marker>[•\-*] |\d{1,3}\. )(?=\S)")
_LINK = re.compile(r"\[(?P<title>(?:\\.|[^\]\\])*)\]\((?P<url>[^)\s]+)\)")
_ESCAPABLE = frozenset(r"""\`*_{}[]()#+-.!|>~<:"'@$%&=/,;?^""")


def parse(text: str) -> list[Line]:
    """Card text as lines; an empty line stands for a gap between paragraphs."""
    lines: list[Line] = []
    in_code = False
    for raw in text.replace(ZERO_WIDTH_SPACE, "").split("\n"):
        stripped = raw.strip()
        if stripped.startswith(_FENCE):
            inner = stripped[len(_FENCE) :]
            if inner.endswith(_FENCE) and len(stripped) >= 2 * len(_FENCE):  # ```one line of code```
                lines.append(Line((Span(inner[: -len(_FENCE)], code=True),), code=True))
            else:
                in_code = not in_code  # what follows an opening fence is its language tag
            continue
        if in_code:
            lines.append(Line((Span(raw, code=True),), code=True))
            continue
        item = _LIST_ITEM.match(raw)
        if item is not None:
            lines.append(Line(tuple(inline(raw[item.end() :])), marker=item["marker"]))
        else:
            lines.append(Line(tuple(inline(raw))))
    return lines


def inline(text: str) -> list[Span]:
    """One line's spans: bold, italic, code and links; a backslash makes the next character literal."""
    spans: list[Span] = []
    buffer: list[str] = []
    bold = italic = False

    def flush() -> None:
        if buffer:
            spans.append(Span("".join(buffer), bold=bold, italic=italic))
            buffer.clear()

    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text) and text[index + 1] in _ESCAPABLE:
            buffer.append(text[index + 1])
            index += 2
            continue
        if char == "`":
            ticks = len(text[index:]) - len(text[index:].lstrip("`"))
            fence = text[index : index + ticks]
            end = text.find(fence, index + ticks)
            if end > index + ticks:
                flush()
                spans.append(Span(text[index + ticks : end].strip(" ") or " ", code=True))
                index = end + ticks
                continue
            buffer.append(fence)
            index += ticks
            continue
        if text.startswith("**", index) and (bold or _closes(text, index + 2, "**")):
            flush()
            bold = not bold
            index += 2
            continue
        if char == "*" and (italic or _closes(text, index + 1, "*")):
            flush()
            italic = not italic
            index += 1
            continue
        if char == "[":
            link = _LINK.match(text, index)
            if link is not None:
                flush()
                spans.extend(
                    replace(span, url=link["url"], bold=span.bold or bold, italic=span.italic or italic)
                    for span in inline(link["title"])
                )
                index = link.end()
                continue
        buffer.append(char)
        index += 1
    flush()
    return spans


def _closes(text: str, start: int, marker: str) -> bool:
    """An opening `*` or `**` counts only before a word and when the line closes it after a word."""
    if start >= len(text) or text[start].isspace():
        return False
    end = text.find(marker, start)
    while end != -1:
        after_word = not text[end - 1].isspace() and text[end - 1] != "\\"
        # A single `*` is not closed by half of a `**`.
        if after_word and (marker == "**" or not text.startswith("**", end)):
            return True
        end = text.find(marker, end + len(marker))
    return False
