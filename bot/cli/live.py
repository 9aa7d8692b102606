"""The steps of a probe or a discovery, live on a terminal's stderr, erased once the result prints.

Nothing is shown unless stderr is a terminal that can redraw (not piped, not `TERM=dumb`) and the output is
not JSON. Colour follows NO_COLOR (rich reads it); the marks (a spinner, ✓, ✗, ⊘, ○) carry the state without it.
"""

from __future__ import annotations

import contextlib
import sys
from collections import Counter
from typing import TYPE_CHECKING

from rich.console import Console, Group
from rich.live import Live
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from collections.abc import Iterator

    from rich.console import RenderableType

    from bot.probe.progress import ProgressEvent, ProgressHook, ProgressState

_MARKS = {"done": ("✓", "green"), "failed": ("✗", "red"), "refused": ("⊘", "yellow"), "stopped": ("○", "dim")}
_SUMMARY_ORDER: tuple[ProgressState, ...] = ("running", "done", "failed", "refused", "stopped")


class StepBoard:
    """One row per step, in the order the steps first appeared, under a title with the count of each state."""

    def __init__(self, title: str, console: Console) -> None:
        self.title = title
        self.console = console
        self.events: dict[str, ProgressEvent] = {}
        # One spinner per running step, kept across redraws so that it turns instead of restarting.
        self.spinners: dict[str, Spinner] = {}

    def record(self, event: ProgressEvent) -> None:
        self.events[event.what] = event

    def _mark(self, event: ProgressEvent) -> RenderableType:
        if event.state == "running":
            return self.spinners.setdefault(event.what, Spinner("dots", style="cyan"))
        symbol, style = _MARKS[event.state]
        return Text(symbol, style=style)

    def _shown(self) -> list[ProgressEvent]:
        """Every row if they fit the terminal; otherwise the oldest finished ones give way."""
        rows = list(self.events.values())
        room = max(3, self.console.size.height - 2)
        surplus = len(rows) - room
        if surplus <= 0:
            return rows
        finished = [event.what for event in rows if event.state != "running"]
        hidden = set(finished[:surplus])
        return [event for event in rows if event.what not in hidden]

    def render(self) -> RenderableType:
        counts = Counter(event.state for event in self.events.values())
        summary = ", ".join(f"{counts[state]} {state}" for state in _SUMMARY_ORDER if counts[state])
        # One line whatever the width: the rows below are counted to fit the terminal.
        header = Text.assemble(
            (self.title, "bold"), (f"  {summary}" if summary else "", "dim"), no_wrap=True, overflow="ellipsis"
        )
        table = Table.grid(padding=(0, 1), expand=True)
        table.add_column(width=1, no_wrap=True)
        table.add_column(no_wrap=True, overflow="ellipsis")
        table.add_column(no_wrap=True, overflow="ellipsis", style="dim", ratio=1)
        for event in self._shown():
            table.add_row(self._mark(event), event.what, event.detail or "")
        return Group(header, table)


@contextlib.contextmanager
def live_steps(title: str, *, wanted: bool) -> Iterator[ProgressHook | None]:
    """A progress hook that draws the steps on stderr while the block runs, or None where none should be drawn."""
    console = Console(stderr=True)
    if not wanted or not sys.stderr.isatty() or console.is_dumb_terminal:
        yield None
        return
    board = StepBoard(title, console)
    # Redrawn from rich's own thread (so spinners turn); each event swaps in a table built here, never shared.
    with Live(board.render(), console=console, transient=True, refresh_per_second=10) as live:

        def show(event: ProgressEvent) -> None:
            board.record(event)
            live.update(board.render())

        yield show
