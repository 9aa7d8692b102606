"""`guidenest ask` and `port` in a real pseudo-terminal: colour, rendered markdown, the terminal's width;
into a pipe: the same content as plain text."""

from __future__ import annotations

import json
import textwrap

from bot.knowledge.loader import load_knowledge
from bot.settings import DEFAULT_KNOWLEDGE_DIR
from tests.cli.terminal import COLOUR_CODE, clean_environment, run_in_terminal, run_piped, visible

IMAP_TITLE = "IMAP ports — 993 (SSL/TLS) and 143 (STARTTLS)"
RFC_8314 = "https://www.rfc-editor.org/rfc/rfc8314"


def test_an_answer_in_a_terminal_is_coloured_and_rendered() -> None:
    shown = run_in_terminal("ask", "imap port", env=clean_environment())
    first = shown.splitlines()[0]
    assert first.startswith(f"\x1b[1;32m{IMAP_TITLE}")  # a confident answer: the title bold and green
    assert "Match 100% · confident" in visible(first)  # the badge on the title line
    text = visible(shown)
    for marker in ("**", "`", "]("):
        assert marker not in text
    assert f"<{RFC_8314}>" in text  # a link shows its address
    assert "\x1b[1mIMAP has two ports:" in shown  # bold rendered, not printed
    assert "(Match" not in text  # no footer line for what the badge says


def test_an_answer_in_a_terminal_is_shorter_than_the_same_text_wrapped() -> None:
    shown = visible(run_in_terminal("ask", "imap port", env=clean_environment())).splitlines()
    assert max(len(line) for line in shown) <= 80
    plain = run_piped("ask", "imap port", env=clean_environment())
    wrapped = [row for line in plain.splitlines() for row in (textwrap.wrap(line, 80) or [""])]
    # The badge shares the title's line and the sources their label's: fewer lines than the plain text at 80.
    assert len(shown) <= len(wrapped) - 3


def test_the_terminal_width_is_read_from_the_terminal() -> None:
    shown = visible(run_in_terminal("ask", "imap port", env=clean_environment(), columns=60)).splitlines()
    assert max(len(line) for line in shown) <= 60
    assert max(len(line) for line in shown) > 50  # wrapped to the width, not to some fixed narrower one


def test_no_color_in_a_terminal() -> None:
    shown = run_in_terminal("ask", "imap port", env=clean_environment(NO_COLOR="1"))
    assert not COLOUR_CODE.search(shown)
    assert visible(shown).startswith(IMAP_TITLE)
    assert "**" not in shown


def test_not_sure_is_yellow_and_lookups_blue() -> None:
    unsure = run_in_terminal("ask", "the printer in the hallway jams", env=clean_environment())
    assert unsure.startswith("\x1b[1;33m")
    port = run_in_terminal("port", "imap", env=clean_environment())
    assert port.startswith("\x1b[1;34mMail ports: imap")


def test_piped_output_is_plain_text() -> None:
    text = run_piped("ask", "imap port", env=clean_environment())
    assert "\x1b" not in text
    assert text.startswith(f"== {IMAP_TITLE} ==\nIMAP has two ports:\n")
    for marker in ("**", "`", "]("):
        assert marker not in text
    assert f"RFC 8314 — Cleartext Considered Obsolete (implicit TLS for mail access) <{RFC_8314}>" in text
    assert text.rstrip().endswith("(Match 100% · confident)")


def test_json_is_the_same_in_a_terminal_and_in_a_pipe() -> None:
    in_terminal = run_in_terminal("ask", "--json", "imap port", env=clean_environment())
    piped = run_piped("ask", "--json", "imap port", env=clean_environment())
    assert in_terminal == piped
    answer = load_knowledge(DEFAULT_KNOWLEDGE_DIR).entries["imap-ports"].answer
    assert json.loads(piped)["match"]["answer"] == answer
