"""`guidenest ask`, `chat`, `port` and `provider` on the shipped knowledge, as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.knowledge.loader import load_knowledge
from bot.settings import DEFAULT_KNOWLEDGE_DIR

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


def test_chatter_is_not_confident(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "--json", "thanks a lot, that fixed it!"]) == 0
    assert json.loads(capsys.readouterr().out)["confident"] is False


def test_stdin_questions_give_json_lines() -> None:
    done = run_cli("ask", "--json", stdin="imap port?\n\n535 5.7.8 Username and Password not accepted\n")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 2  # the blank line is skipped
    first, second = (json.loads(line) for line in lines)
    assert first["match"]["id"] == "imap-ports"
    assert second["match"]["id"] == "auth-failed-535"


def test_ask_without_question_on_a_terminal_explains(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    assert main(["ask"]) == 2
    assert "give a question" in capsys.readouterr().err


def test_chat_answers_piped_lines_and_commands() -> None:
    done = run_cli(
        "chat", stdin="Cannot connect to server\n/port 993\n/provider hotmail\n/quit\nnot reached\n"
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "/help for commands" in out
    assert "firewall" in out.lower()
    assert "IMAP 993" in out
    assert "outlook.office365.com" in out
    assert "not reached" not in out


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
        assert f" {port}**" in out


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
    (provider,) = json.loads(capsys.readouterr().out)
    assert host in {server["host"] for server in provider["incoming"]}


def test_unknown_provider(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["provider", "qwertyuiop"]) == 1
    assert "Unknown provider" in capsys.readouterr().out


def test_broken_knowledge_is_reported_not_crashed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GUIDENEST_KNOWLEDGE_DIR", str(tmp_path / "nowhere"))
    assert main(["ask", "imap port"]) == 1
    assert "the entries folder is missing" in capsys.readouterr().err
