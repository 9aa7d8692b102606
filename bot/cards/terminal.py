"""A card in a terminal, on rich: markdown shown as styles, colour by tone, wrapped to the terminal's width.

The layout is compact: the title with its badge on one line, the text, the fields as aligned `name value` rows
(a longer value indented under its name), then the sources and the footer dim. Links show their title and their
address (`title <url>`, both clickable where the terminal supports it), so a plain terminal shows the address too.
Colour follows the console: rich drops it under `NO_COLOR`, on a dumb terminal and when not writing to one.
Card text becomes `Text` objects, never console markup, so a server banner with `[bold]` in it stays as it is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Group
from rich.style import Style
from rich.text import Text

from bot.cards.card import Tone
from bot.cards.markup import Line, Span, parse

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderableType, RenderResult

    from bot.cards.card import Card, Field

TONE_COLOURS = {
    Tone.ANSWER: "green",
    Tone.OK: "green",
    Tone.UNSURE: "yellow",
    Tone.INFO: "blue",
    Tone.ERROR: "red",
    Tone.FAIL: "red",
}
CODE_STYLE = Style(color="cyan")
BULLETS = frozenset({"• ", "- ", "* "})
VALUE_INDENT = 2
CODE_INDENT = 2


def spans_text(spans: tuple[Span, ...], *, short_links: bool = False) -> Text:
    """Spans as styled text; a link as its title and its address. With `short_links`, a title keeps only its
    part before " — " (the source line of an answer: "RFC 8314 <https://…>" says enough in a terminal)."""
    text = Text()
    for span in spans:
        look = Style(bold=span.bold or None, italic=span.italic or None)
        if span.code:
            look += CODE_STYLE
        if span.url is None:
            text.append(span.text, look)
            continue
        title = span.text.split(" — ")[0] if short_links else span.text
        text.append(title, look + Style(underline=True, link=span.url))
        if span.url != span.text:
            text.append(" <")
            text.append(span.url, Style(link=span.url))
            text.append(">")
    return text


class Hanging:
    """Text after a lead (a bullet, a number, a field's name) whose wrapped lines start under the text."""

    def __init__(self, lead: Text, body: Text) -> None:
        self.lead = lead
        self.body = body

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        indent = self.lead.cell_len
        lines = self.body.wrap(console, max(options.max_width - indent, 1)) if self.body else [Text()]
        for number, line in enumerate(lines):
            line.rstrip()  # the space a line was broken at
            yield Text.assemble(self.lead if number == 0 else " " * indent, line)


class Header:
    """The title with the badge beside it, or on the next line when both do not fit: a badge is never split."""

    def __init__(self, title: Text, badge: Text | None) -> None:
        self.title = title
        self.badge = badge

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if self.badge is None:
            yield self.title
        elif self.title.cell_len + 2 + self.badge.cell_len <= options.max_width:
            yield Text.assemble(self.title, "  ", self.badge)
        else:
            yield self.title
            yield self.badge


def markup(text: str, indent: int = 0) -> list[Hanging]:
    """Card text as renderables, one per line, `indent` columns in."""
    shown = []
    for line in parse(text):
        if line.code:
            lead, body = " " * CODE_INDENT, Text(line.plain, style=CODE_STYLE, overflow="fold")
        else:
            lead, body = "• " if line.marker in BULLETS else line.marker, spans_text(line.spans)
        shown.append(Hanging(Text(" " * indent + lead), body))
    return shown


def _one_line(field: Field) -> Line | None:
    lines = parse(field.value)
    return lines[0] if len(lines) == 1 and not lines[0].code else None


def _fields(fields: list[Field]) -> list[RenderableType]:
    """A run of one-line fields as aligned `name value` rows; a field of several lines as its name over its
    value."""
    shown: list[RenderableType] = []
    run: list[tuple[Field, Line]] = []

    def end_run() -> None:
        width = max((len(field.name) for field, _ in run), default=0) + 1
        for field, line in run:
            shown.append(Hanging(Text(field.name.ljust(width), style="bold"), spans_text(line.spans)))
        run.clear()

    for field in fields:
        line = _one_line(field)
        if line is not None and not line.marker:
            run.append((field, line))
            continue
        end_run()
        shown.append(Text(field.name, style="bold"))
        shown += markup(field.value, VALUE_INDENT)
    end_run()
    return shown


def card_renderable(card: Card) -> Group:
    colour = TONE_COLOURS[card.tone]
    title = Text(card.title, style=Style(color=colour, bold=True))
    badge = Text(f" {card.badge} ", style=Style(color=colour, reverse=True)) if card.badge else None
    parts: list[RenderableType] = [Header(title, badge)]
    if card.description:
        parts += markup(card.description)
    main = [field for field in card.fields if not field.aside]
    asides = [field for field in card.fields if field.aside]
    if card.description and card.fields:
        parts.append(Text())
    parts += _fields(main)
    dim = Style(dim=True)
    for field in asides:
        aside = Text(f"{field.name}: ")
        aside.append_text(Text(" ").join(spans_text(line.spans, short_links=True) for line in parse(field.value)))
        aside.stylize(dim)
        parts.append(aside)
    if card.footer:
        parts.append(Text(card.footer, style=dim))
    return Group(*parts)


def render_terminal(card: Card, console: Console) -> str:
    """The card as this console would print it (its width, its colours), without the final newline."""
    with console.capture() as captured:
        console.print(card_renderable(card))
    return captured.get().rstrip("\n")
