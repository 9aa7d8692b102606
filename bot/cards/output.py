"""The renderer for a stream: the terminal one when the stream is a terminal, plain text otherwise."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, TextIO

from bot.cards.text import render_text

if TYPE_CHECKING:
    from collections.abc import Callable

    from bot.cards.card import Card


def render_for(stream: TextIO) -> Callable[[Card], str]:
    """How cards written to `stream` should look; the terminal's width and colours are read from it."""
    if not stream.isatty():
        return render_text
    # rich loads only when a card goes to a terminal, not for every command.
    from rich.console import Console

    from bot.cards.terminal import render_terminal

    console = Console(file=stream)  # reads the width, the colour system and NO_COLOR
    return lambda card: render_terminal(card, console)


def print_card(card: Card, file: TextIO | None = None) -> None:
    stream = file if file is not None else sys.stdout
    print(render_for(stream)(card), file=stream)


def print_note(text: str, *, quiet: bool = False, file: TextIO | None = None) -> None:
    """A line that is not a card (a hint, why nothing was said): as it is; dim on a terminal when `quiet`."""
    stream = file if file is not None else sys.stdout
    if quiet and stream.isatty():
        from rich.console import Console
        from rich.text import Text

        Console(file=stream).print(Text(text, style="dim"))
    else:
        print(text, file=stream)
