"""`guidenest ask`, `port` and `provider` on the shipped knowledge, as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.knowledge.loader import load_knowledge
from bot.matching.matcher import Matcher
from bot.settings import DEFAULT_KNOWLEDGE_DIR, Confidence

GUIDENEST = Path(sys.executable).parent / "guidenest"


def run_cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """The installed console script, in a clean working directory (no .env)."""
    return subprocess.run(
        [str(GUIDENEST), *args], input=stdin, capture_output=True, text=True, timeout=60, check=False
    )


def test_cannot_connect_answer_lists_the_guides_causes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "Cannot connect to server"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("== ")
    assert "143" in out
    assert "firewall" in out.lower()


def test_json_answer_is_the_entry_text_exactly(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "--json", "outlook error 0x800ccc0e"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result) == {"question", "confident", "match", "suggestions"}
    assert result["question"] == "outlook error 0x800ccc0e"
    assert result["confident"] is True
    assert result["match"]["id"] == "outlook-0x800ccc0e"
    assert 0 <= result["match"]["score"] <= 100
    shipped = load_knowledge(DEFAULT_KNOWLEDGE_DIR)
    assert result["match"]["answer"] == shipped.entries["outlook-0x800ccc0e"].answer
    for suggestion in result["suggestions"]:
        assert set(suggestion) == {"id", "title", "score"}


def _check_result_schema(result: dict[str, object]) -> None:
    """The JSON result exactly as documented: no key more or less, each value of its type."""
    assert set(result) == {"question", "confident", "match", "suggestions"}
    assert isinstance(result["question"], str)
    assert isinstance(result["confident"], bool)
    match = result["match"]
    if match is not None:
        assert isinstance(match, dict)
        assert set(match) == {"id", "title", "score", "answer"}
        assert all(isinstance(match[key], str) for key in ("id", "title", "answer"))
        assert isinstance(match["score"], float)
        assert 0 <= match["score"] <= 100
    suggestions = result["suggestions"]
    assert isinstance(suggestions, list)
    for suggestion in suggestions:
        assert set(suggestion) == {"id", "title", "score"}
        assert isinstance(suggestion["id"], str)
        assert isinstance(suggestion["title"], str)
        assert isinstance(suggestion["score"], float)


@pytest.mark.parametrize(
    "question",
    [
        "which smtp port should I use",  # confident
        "my minecraft server says cannot connect to server",  # off-domain: not confident, may still match
        "imap",  # short
        "thanks!",  # chatter: no match
        "```\nsmtplib.SMTPAuthenticationError: (535, b'5.7.8 Username and Password not accepted')\n```",
        "@everyone **IMAP** _port_ ?",
    ],
)
def test_json_result_has_the_documented_schema_and_the_matchers_best_entry(
    question: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ask", "--json", question]) == 0
    result = json.loads(capsys.readouterr().out)
    _check_result_schema(result)
    assert result["question"] == question
    # `match` is the best entry whenever one passes the floor, confident or not; the suggestions follow it.
    expected = Matcher(load_knowledge(DEFAULT_KNOWLEDGE_DIR)).match(question, level=Confidence.NORMAL)
    assert result["confident"] is expected.confident
    if expected.best is None:
        assert result["match"] is None
    else:
        assert result["match"]["id"] == expected.best.entry.id
        assert result["match"]["score"] == expected.best.score
        assert result["match"]["answer"] == expected.best.entry.answer
    assert [s["id"] for s in result["suggestions"]] == [s.entry.id for s in expected.suggestions]


@pytest.mark.parametrize("question", ["", "   ", "\u200b\u200d", "\ufeff \n", "``````", "<@123>"])
@pytest.mark.parametrize("as_json", [False, True])
def test_an_empty_question_is_refused_with_a_message(
    question: str, as_json: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ask", *(["--json"] if as_json else []), question]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("guidenest ask: Nothing to look up")


def test_output_cut_short_by_the_reader_ends_quietly() -> None:
    """`guidenest kb export --json | head`: no traceback when the reader stops early."""
    with subprocess.Popen(
        [str(GUIDENEST), "kb", "export", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as process:
        assert process.stdout is not None
        assert process.stderr is not None
        assert process.stdout.read(10) == b'{\n  "entri'
        process.stdout.close()  # the export is far larger than a pipe's buffer: its next write fails
        stderr = process.stderr.read().decode()
        assert process.wait(timeout=60) == 141
    assert "Traceback" not in stderr
    assert stderr == ""


def test_chatter_is_not_confident(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "--json", "thanks a lot, that fixed it!"]) == 0
    assert json.loads(capsys.readouterr().out)["confident"] is False


def test_stdin_questions_give_json_lines() -> None:
    done = run_cli(
        "ask", "--json", stdin="imap port?\n\n\u200b\n535 5.7.8 Username and Password not accepted\n<@1>\n"
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 2  # the blank line, the invisible one and the bare mention are skipped
    first, second = (json.loads(line) for line in lines)
    _check_result_schema(first)
    _check_result_schema(second)
    assert first["match"]["id"] == "imap-ports"
    assert second["match"]["id"] == "auth-failed-535"


def test_ask_without_question_on_a_terminal_explains(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    assert main(["ask"]) == 2
    assert "give a question" in capsys.readouterr().err


def test_port_lookup_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["port", "smtp", "starttls", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows
    assert all(row["protocol"] == "SMTP" and row["security"] == "starttls" for row in rows)
    assert 587 in {row["port"] for row in rows}


def test_port_table_without_query(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["port"]) == 0
    out = capsys.readouterr().out
    for port in ("993", "143", "995", "110", "465", "587", "25"):
        assert f" {port} · " in out  # "SMTP 587 · STARTTLS · …", without the bold markers


def test_unknown_port_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["port", "8080"]) == 1
    assert "No such mail port" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("name", "host"),
    [
        ("gmail", "imap.gmail.com"),
        ("outlook.com", "outlook.office365.com"),
        ("hotmail", "outlook.office365.com"),
        ("someone@yahoo.com", "imap.mail.yahoo.com"),
    ],
)
def test_provider_lookup(name: str, host: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["provider", name, "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert host in {server["host"] for server in found["match"]["incoming"]}


def test_unknown_provider(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["provider", "qwertyuiop"]) == 1
    assert "Unknown provider" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("name", "hint"),
    [("xyzmail", "guidenest discover your-domain.com"), ("me@hey.com", "guidenest discover hey.com")],
)
def test_a_provider_guess_is_never_shown_as_a_match(name: str, hint: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["provider", name]) == 1
    out = capsys.readouterr().out
    assert "Unknown provider" in out
    assert hint in out
    assert "imap." not in out  # no provider's settings
    assert main(["provider", name, "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["match"] is None


def test_broken_knowledge_is_reported_not_crashed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GUIDENEST_KNOWLEDGE_DIR", str(tmp_path / "nowhere"))
    assert main(["ask", "imap port"]) == 1
    err = capsys.readouterr().err
    assert f"guidenest: {tmp_path / 'nowhere'}: does not exist" in err
    assert "kb check" not in err  # nothing to check in a folder that is not there


def test_the_command_line_loads_no_bot_or_database_code_until_a_command_needs_it() -> None:
    """`guidenest ask` and `chat` start fast: discord.py, aiohttp and the database layer (SQLAlchemy, Alembic) are
    imported only by the commands that use them."""
    heavy = ("discord", "aiohttp", "sqlalchemy", "alembic", "asyncpg", "tesserocr")
    code = f"import sys, bot.cli; print([m for m in {heavy!r} if m in sys.modules])"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"
