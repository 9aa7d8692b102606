"""`guidenest chat`: piped lines, the interactive console (history, completion, a pasted log as one question in a
real pseudo-terminal), `/entry`, and answering as the bot would in a mention or in a help channel."""

from __future__ import annotations

import fcntl
import os
import select
import struct
import subprocess
import termios
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import prompt_toolkit.history
from prompt_toolkit.application import create_app_session
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from bot.cli.chat import Console, _interactive
from bot.knowledge.service import KnowledgeService
from bot.settings import DEFAULT_KNOWLEDGE_DIR, Confidence, Settings
from tests.cli.terminal import GUIDENEST, clean_environment, visible

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    import pytest


def run_chat(*args: str, stdin: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(GUIDENEST), "chat", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=clean_environment(),
    )


def titles(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith("== ")]


def test_chat_answers_piped_lines_and_commands() -> None:
    done = run_chat(stdin="Cannot connect to server\n/port 993\n/provider hotmail\n/quit\nnot reached\n")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "/help for commands" in out
    assert "firewall" in out.lower()
    assert "IMAP 993" in out
    assert "outlook.office365.com" in out
    assert "not reached" not in out


def test_chat_explains_unknown_commands_and_a_missing_provider_name() -> None:
    done = run_chat(stdin="/unknown\n/provider\n/Port 993\n/var/log/mail.log: 0x800CCC0E\n\u200b\n")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    # A mistyped command is not sent to the matcher ("unknown" would find the "name not known" entry).
    assert "There is no /unknown command here. /help lists the commands." in out
    assert "not known" not in out
    assert "Which provider?" in out
    assert "Mail ports: 993" in out  # commands ignore case
    assert "0x800CCC0E" in out  # a pasted path is a question, not a command
    assert "Hi! How can I help?" in out  # a line of invisible characters: what a bare mention gets


def test_entry_shows_one_answer_by_id_and_suggests_near_ids() -> None:
    done = run_chat(stdin="/entry imap-ports\n/entry IMAP-PORTS\n/entry imap-port\n/entry\n")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert titles(out) == ["== IMAP ports — 993 (SSL/TLS) and 143 (STARTTLS) =="] * 2
    assert "(Knowledge entry: imap-ports)" in out
    assert "There is no entry imap-port. Did you mean imap-ports" in out
    assert "Which entry? Give its id" in out


def test_as_a_mention_it_always_replies_and_points_back_to_an_answer_just_given() -> None:
    done = run_chat(stdin="Cannot connect to server\nemail not working\nCannot connect to server\n")
    out = done.stdout
    assert titles(out) == ['== "Cannot connect to server" — the usual causes ==', "== Not sure =="]
    assert "I answered that just above (answer 1: " in out
    assert "/entry cannot-connect-to-server shows it again" in out


def test_as_in_a_help_channel_it_stays_silent_unless_confident_and_says_why() -> None:
    done = run_chat("--as", "channel", stdin="Cannot connect to server\nemail not working\nCannot connect to server\n")
    out = done.stdout
    assert titles(out) == ['== "Cannot connect to server" — the usual causes ==']
    assert "(In a help channel the bot would stay silent here: no answer is confident enough. Closest: " in out
    assert "(The bot would stay silent: it gave this answer here moments ago.)" in out


def test_the_bots_limits_apply_to_the_console() -> None:
    lines = ["which port for imap", "smtp port 587", "0x800CCC0E", "535 5.7.8 Username and Password not accepted"]
    done = subprocess.run(
        [str(GUIDENEST), "chat"],
        input="".join(f"{line}\n" for line in lines),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=clean_environment(GUIDENEST_USER_RATE_LIMIT="2"),
    )
    assert len(titles(done.stdout)) == 2
    assert done.stdout.count("you are over its answer limit") == 2


def test_completion_offers_commands_and_entry_ids() -> None:
    console = Console(
        KnowledgeService(DEFAULT_KNOWLEDGE_DIR), Settings(_env_file=None), Confidence.NORMAL, "mention"  # type: ignore[call-arg]
    )
    assert console.completions("/p") == ["/port", "/provider"]
    ids = console.completions("/entry imap")
    assert "imap-ports" in ids
    assert all(i.startswith("imap") for i in ids)
    assert console.completions("which port") == []


class _LoadedHistory(prompt_toolkit.history.FileHistory):
    """The console's history file, telling the test when a prompt has read it.

    prompt_toolkit reads the history anew, in the background, each time a prompt starts; keys sent before that
    (typeahead) would find it empty. Sending each line only after the read keeps the test deterministic.
    """

    loaded = threading.Semaphore(0)

    async def load(self) -> AsyncIterator[str]:
        async for item in super().load():
            yield item
        self.loaded.release()


def _type_into_chat(lines: list[str]) -> list[str]:
    """Run the interactive console, typing `lines` (keys, escape sequences included) one prompt at a time;
    return the lines that could not be typed because no prompt with a history came up."""
    console = Console(
        KnowledgeService(DEFAULT_KNOWLEDGE_DIR), Settings(_env_file=None), Confidence.NORMAL, "mention"  # type: ignore[call-arg]
    )
    not_typed: list[str] = []
    with create_pipe_input() as keyboard:

        def type_lines() -> None:
            for index, keys in enumerate(lines):
                if not _LoadedHistory.loaded.acquire(timeout=10):
                    not_typed.extend(lines[index:])
                    keyboard.send_text("/quit\r")  # let the console end instead of waiting forever
                    return
                keyboard.send_text(keys)

        typist = threading.Thread(target=type_lines)
        typist.start()
        with create_app_session(input=keyboard, output=DummyOutput()):
            assert _interactive(console) == 0
        typist.join()
    return not_typed


# The runner's own cache, for tests that give the console a home of its own (for its history): a fresh cache
# would fit the re-ranker again, ten seconds per test.
RUNNER_CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")

UP, LEFT, ENTER = "\x1b[A", "\x1b[D", "\r"
IMAP = "== IMAP ports — 993 (SSL/TLS) and 143 (STARTTLS) =="


def test_interactive_chat_edits_lines_and_recalls_history(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(RUNNER_CACHE))
    monkeypatch.setattr(prompt_toolkit.history, "FileHistory", _LoadedHistory)
    monkeypatch.setattr(_LoadedHistory, "loaded", threading.Semaphore(0))

    typed = ["imap port?" + ENTER, UP + ENTER, "/port 93" + LEFT + "9" + ENTER, "/quit" + ENTER]
    assert _type_into_chat(typed) == []
    out = capsys.readouterr().out
    # Up-arrow brought back "imap port?" (answered just above, so the bot points back to it); the cursor moved
    # left to make "/port 93" into "/port 993".
    assert titles(out) == [IMAP, "== Mail ports: 993 =="]
    assert "I answered that just above (answer 1: IMAP ports" in out

    # The history outlives the session: the next console recalls this one's lines (the last one is /quit).
    history = tmp_path / ".local" / "state" / "guidenest" / "chat-history"
    assert "+/port 993" in history.read_text().splitlines()
    assert _type_into_chat([UP + UP + ENTER, "/quit" + ENTER]) == []
    assert titles(capsys.readouterr().out) == ["== Mail ports: 993 =="]


# --- In a real pseudo-terminal --------------------------------------------------------------------------------

PROMPT = b"you>"  # the space after it comes in its own write
CURSOR_POSITION_REQUEST = b"\x1b[6n"
PASTE_START, PASTE_END = b"\x1b[200~", b"\x1b[201~"
PASTED_LOG = (
    b"Traceback (most recent call last):\n"
    b'  File "send.py", line 12, in <module>\n'
    b"    server.login(user, password)\n"
    b"smtplib.SMTPAuthenticationError: (535, b'5.7.8 Username and Password not accepted. For more information, "
    b"go to https://support.google.com/mail/?p=BadCredentials')\n"
)


class Terminal:
    """`guidenest chat` in a pseudo-terminal, typed into as a person does."""

    def __init__(self, home: Path) -> None:
        self.leader, follower = os.openpty()
        fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
        self.process = subprocess.Popen(
            [str(GUIDENEST), "chat"],
            stdin=follower,
            stdout=follower,
            stderr=follower,
            env=clean_environment(HOME=str(home), XDG_CACHE_HOME=str(RUNNER_CACHE)),
        )
        os.close(follower)
        self.output = b""
        # Where the last marker waited for ended: one read can bring that marker and the next together.
        self.position = 0

    def read_until(self, marker: bytes, timeout: float = 30) -> bytes:
        """Everything after the previous marker up to and including the next `marker`."""
        start = self.position
        deadline = time.monotonic() + timeout
        while marker not in self.output[start:]:
            ready, _, _ = select.select([self.leader], [], [], max(deadline - time.monotonic(), 0))
            if not ready:
                raise TimeoutError(f"no {marker!r} in {self.output[start:]!r}")
            try:
                data = os.read(self.leader, 65536)
            except OSError:
                break
            # prompt_toolkit asks where the cursor is, as a real terminal would be asked: answer it.
            if CURSOR_POSITION_REQUEST in data:
                os.write(self.leader, b"\x1b[1;1R")
            self.output += data
        found = self.output.find(marker, start)
        self.position = len(self.output) if found < 0 else found + len(marker)
        return self.output[start : self.position]

    def type(self, keys: bytes) -> None:
        os.write(self.leader, keys)

    def close(self) -> int:
        try:
            return self.process.wait(timeout=20)
        finally:
            os.close(self.leader)


def test_a_pasted_log_is_one_question(tmp_path: Path) -> None:
    terminal = Terminal(tmp_path)
    try:
        greeting = terminal.read_until(PROMPT)
        # prompt_toolkit asks the terminal for bracketed paste: pasted text then arrives marked, newlines and all.
        assert b"\x1b[?2004h" in greeting
        terminal.type(PASTE_START + PASTED_LOG + PASTE_END + b"\r")
        terminal.read_until(b"Match ")
        terminal.read_until(PROMPT)
        terminal.type(b"/quit\r")
        terminal.read_until(b"/quit")
        assert terminal.close() == 0
    finally:
        if terminal.process.poll() is None:
            terminal.process.kill()
    shown = visible(terminal.output.decode(errors="replace"))
    # One answer, to the error in the log: not five replies to its five lines.
    assert "535 5.7.8: the server rejected your user name or password" in shown
    assert shown.count("Match ") == 1
    assert "Not sure" not in shown


def test_lines_typed_one_by_one_are_questions_one_by_one(tmp_path: Path) -> None:
    # The counterpart: without the paste markers, each Enter sends what is on the line.
    terminal = Terminal(tmp_path)
    try:
        terminal.read_until(PROMPT)
        terminal.type(b"which port for imap\r")
        terminal.read_until(b"Match ")
        terminal.read_until(PROMPT)
        terminal.type(b"0x800CCC0E\r")
        terminal.read_until(b"Match ")
        terminal.read_until(PROMPT)
        terminal.type(b"\x04")  # Ctrl-D leaves
        assert terminal.close() == 0
    finally:
        if terminal.process.poll() is None:
            terminal.process.kill()
    shown = visible(terminal.output.decode(errors="replace"))
    assert shown.count("Match ") == 2
    assert "IMAP ports" in shown
