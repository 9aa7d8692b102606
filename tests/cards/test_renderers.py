"""The terminal renderer (rich) and the plain-text renderer show the same content without Discord's markup."""

from __future__ import annotations

import io
import os
import re

import pytest
from rich.console import Console
from rich.text import Text

from bot.cards.card import Card, Field, Tone, escape_markdown
from bot.cards.markup import Span, inline, parse
from bot.cards.output import print_card, render_for
from bot.cards.terminal import render_terminal
from bot.cards.text import render_text

ANSI = re.compile(r"\x1b\[[0-9;]*m")
OSC8 = re.compile(r"\x1b\]8;[^\x1b]*\x1b\\")
# Foreground colours in any of rich's colour systems: 30-37, 90-97, 38;5;N or 38;2;R;G;B.
COLOUR_CODE = re.compile(r"\x1b\[(?:[0-9;]*;)?(?:3[0-7]|9[0-7]|38;[25];[0-9;]+)(?:;[0-9;]*)?m")
# The colour each tone is given, as rich's standard codes.
TONE_CODES = {Tone.ANSWER: "32", Tone.OK: "32", Tone.UNSURE: "33", Tone.INFO: "34", Tone.ERROR: "31", Tone.FAIL: "31"}

ANSWER_TEXT = (
    "**IMAP has two ports:**\n"
    "• **993 — SSL/TLS** (service `imaps`). Encrypted from the first byte. Use this one: RFC 8314 recommends "
    "implicit TLS for reading mail.\n"
    "• **143 — STARTTLS** (service `imap`). Upgrade with `STARTTLS` before logging in.\n"
    "\n"
    "**Settings that work**\n"
    "1. Port **993** + security **SSL/TLS**, or\n"
    "2. Port **143** + security *STARTTLS*.\n"
    "```\n"
    "Protocol  SSL/TLS  STARTTLS\n"
    "IMAP      993      143\n"
    "```"
)
SOURCES = (
    "Guide Nest — Understanding Email Sync Port Configurations · "
    "[RFC 8314 — Cleartext Considered Obsolete](https://www.rfc-editor.org/rfc/rfc8314) · as of January 2026"
)


def answer(tone: Tone = Tone.ANSWER) -> Card:
    return Card(
        title="IMAP ports — 993 (SSL/TLS) and 143 (STARTTLS)",
        description=ANSWER_TEXT,
        fields=(Field("Source", SOURCES, aside=True),),
        badge="Match 100% · confident",
        tone=tone,
    )


def terminal(card: Card, width: int = 80, **options: object) -> str:
    console = Console(file=io.StringIO(), width=width, force_terminal=True, color_system="standard", **options)
    return render_terminal(card, console)


def visible(text: str) -> str:
    return ANSI.sub("", OSC8.sub("", text))


def test_markup_is_read_line_by_line() -> None:
    lines = parse("a **b** `c`\n• item\n\n```py\nx = 1  # **not bold**\n```\n2. second")
    assert [line.plain for line in lines] == ["a b c", "item", "", "x = 1  # **not bold**", "second"]
    assert [line.marker for line in lines] == ["", "• ", "", "", "2. "]
    assert lines[3].code
    assert inline("[RFC **8314**](https://x.example/a) and \\*literal\\*") == [
        Span("RFC ", url="https://x.example/a"),
        Span("8314", bold=True, url="https://x.example/a"),
        Span(" and *literal*"),
    ]
    # Stray markers stay text: a product name with a star, an unclosed code span, a lone bracket.
    assert "".join(s.text for s in inline("2 * 3 = 6, `unclosed and [x] (y)")) == "2 * 3 = 6, `unclosed and [x] (y)"


@pytest.mark.parametrize("tone", list(Tone))
def test_terminal_colours_the_title_by_tone(tone: Tone) -> None:
    shown = terminal(answer(tone))
    first_line = shown.splitlines()[0]
    assert f"\x1b[1;{TONE_CODES[tone]}m" in first_line  # bold, in the tone's colour
    assert f"\x1b[7;{TONE_CODES[tone]}m" in first_line  # the badge, reversed, in the same colour


def test_terminal_shows_markdown_as_styles_not_markers() -> None:
    shown = terminal(answer())
    text = visible(shown)
    assert "**" not in text
    assert "`" not in text
    assert "](" not in text
    assert "```" not in text
    assert "\x1b[1mIMAP has two ports:" in shown  # bold
    assert "\x1b[36mimaps" in shown  # code
    assert "Protocol  SSL/TLS  STARTTLS" in text  # the code block, as written
    assert "\x1b[3mSTARTTLS" in shown  # italic


def test_terminal_shows_the_url_of_a_link() -> None:
    shown = terminal(answer())
    text = visible(shown)
    # The source line shows a link's short title, then the address a plain terminal can be read from.
    assert "Source: Guide Nest — Understanding Email Sync Port Configurations · RFC 8314 " in text
    assert "<https://www.rfc-editor.org/rfc/rfc8314>" in text.replace("\n", "")
    assert "\x1b]8;id=" in shown
    assert ";https://www.rfc-editor.org/rfc/rfc8314\x1b\\" in shown
    body = terminal(Card(title="t", description="See [Mozilla Support — IMAP](https://support.mozilla.org/x)."))
    assert "See Mozilla Support — IMAP <https://support.mozilla.org/x>." in visible(body)


def test_terminal_is_compact() -> None:
    # The title line with its badge, the answer, the sources dim at the end; no footer line for the score.
    assert visible(terminal(answer(), width=100)).splitlines() == [
        "IMAP ports — 993 (SSL/TLS) and 143 (STARTTLS)   Match 100% · confident ",
        "IMAP has two ports:",
        "• 993 — SSL/TLS (service imaps). Encrypted from the first byte. Use this one: RFC 8314 recommends",
        "  implicit TLS for reading mail.",
        "• 143 — STARTTLS (service imap). Upgrade with STARTTLS before logging in.",
        "",
        "Settings that work",
        "1. Port 993 + security SSL/TLS, or",
        "2. Port 143 + security STARTTLS.",
        "  Protocol  SSL/TLS  STARTTLS",
        "  IMAP      993      143",
        "",
        "Source: Guide Nest — Understanding Email Sync Port Configurations · RFC 8314 ",
        "<https://www.rfc-editor.org/rfc/rfc8314> · as of January 2026",
    ]
    assert "\x1b[2mSource: " in terminal(answer())  # dim


def test_terminal_wraps_at_the_width_with_hanging_items() -> None:
    lines = visible(terminal(answer(), width=60)).splitlines()
    assert max(len(line) for line in lines) <= 60
    first_item = lines.index("• 993 — SSL/TLS (service imaps). Encrypted from the first")
    assert lines[first_item + 1].startswith("  byte.")  # a wrapped item hangs after its bullet
    # The badge never splits: when the title takes the line, it moves to the next.
    narrow = visible(terminal(answer(), width=50)).splitlines()
    assert narrow[:2] == ["IMAP ports — 993 (SSL/TLS) and 143 (STARTTLS)", " Match 100% · confident "]


def test_terminal_fields_are_aligned_rows() -> None:
    card = Card(
        title="Probe: SMTP mail.example.com port 587 with STARTTLS",
        description="✅ **Works** — checked in 48 ms.",
        fields=(
            Field("Address", "192.0.2.1", inline=True),
            Field("STARTTLS", "offered", inline=True),
            Field("Certificate", "Subject: CN=mail.example.com\nValid until: 2030-01-01 (1500 days left)"),
        ),
        footer="Knowledge entry: smtp-port-587 · Greeting-level check only.",
        tone=Tone.OK,
    )
    lines = visible(terminal(card)).splitlines()
    assert lines[3:6] == ["Address  192.0.2.1", "STARTTLS offered", "Certificate"]
    assert lines[6] == "  Subject: CN=mail.example.com"
    assert lines[-1] == "Knowledge entry: smtp-port-587 · Greeting-level check only."


def test_terminal_never_reads_card_text_as_console_markup() -> None:
    banner = escape_markdown("220 [bold red]hi[/] :smile: \x1b[31m")
    card = Card(title="Probe", description="", fields=(Field("Banner", banner),))
    text = visible(terminal(card))
    assert "Banner 220 [bold red]hi[/] :smile: [31m" in text


def test_no_color_leaves_out_every_colour(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    shown = terminal(answer(Tone.ERROR))
    assert not COLOUR_CODE.search(shown)
    assert "\x1b[1m" in shown  # bold is not colour: still there
    monkeypatch.delenv("NO_COLOR")
    assert COLOUR_CODE.search(terminal(answer(Tone.ERROR)))


def test_plain_text_has_the_same_content_without_markup() -> None:
    text = render_text(answer())
    assert "\x1b" not in text
    assert text.splitlines()[:4] == [
        "== IMAP ports — 993 (SSL/TLS) and 143 (STARTTLS) ==",
        "IMAP has two ports:",
        ("• 993 — SSL/TLS (service imaps). Encrypted from the first byte. Use this one: RFC 8314 recommends "
        "implicit TLS for reading mail."),
        "• 143 — STARTTLS (service imap). Upgrade with STARTTLS before logging in.",
    ]
    assert "    Protocol  SSL/TLS  STARTTLS" in text  # code indented, the fence lines gone
    assert "```" not in text
    assert (
        "Source: Guide Nest — Understanding Email Sync Port Configurations · RFC 8314 — Cleartext Considered "
        "Obsolete <https://www.rfc-editor.org/rfc/rfc8314> · as of January 2026"
    ) in text
    assert text.endswith("(Match 100% · confident)")
    for marker in ("**", "`", "]("):
        assert marker not in text


def test_plain_text_undoes_discord_escapes() -> None:
    card = Card(
        title="Probe",
        description=escape_markdown("banner **x** https://evil.example @everyone"),
        fields=(Field("Notes", "• one\n• two"), Field("Address", "192.0.2.1")),
    )
    text = render_text(card)
    assert "banner **x** https://evil.example @everyone" in text  # as the server sent it: no \\, no zero-width
    assert "\u200b" not in text
    assert "Notes:\n  • one\n  • two\n\nAddress: 192.0.2.1" in text


def test_render_for_picks_by_stream() -> None:
    assert render_for(io.StringIO()) is render_text
    leader, follower = os.openpty()
    try:
        with open(follower, "w", encoding="utf-8", closefd=False) as tty:
            render = render_for(tty)
            assert render is not render_text
            assert "\x1b[" in render(answer())
    finally:
        os.close(leader)
        os.close(follower)
    piped = io.StringIO()
    print_card(answer(), file=piped)
    assert piped.getvalue() == render_text(answer()) + "\n"


def test_hanging_text_keeps_styles() -> None:
    from bot.cards.terminal import Hanging

    console = Console(file=io.StringIO(), width=20, force_terminal=True, color_system="standard")
    with console.capture() as captured:
        console.print(Hanging(Text("- "), Text("one two three four five six", style="bold")))
    assert visible(captured.get()).splitlines() == ["- one two three four", "  five six"]
