"""`guidenest kb check` and `kb export`, on the shipped knowledge and on broken fixtures."""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING

import pytest

import bot
from bot.cli import main
from tests.knowledge.conftest import WriteKB, entry_text

if TYPE_CHECKING:
    from pathlib import Path



def test_check_passes_on_shipped_knowledge(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kb", "check"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("OK: ")
    entries = int(out.split()[1])
    assert entries >= 60


def test_check_reports_file_line_and_exits_1(
    write_kb: WriteKB, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = write_kb(
        {"entries/gamma.md": entry_text(title="G", ask="what is alpha", error="E_G", related="zeta")}
    )
    monkeypatch.setenv("GUIDENEST_KNOWLEDGE_DIR", str(root))
    assert main(["kb", "check"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err == [
        ("knowledge/entries/gamma.md:4: asks: 'what is alpha' is also in alpha.md:4 (asks); "
        "one phrasing must lead to one answer"),
        "knowledge/entries/gamma.md:8: related: no entry with id 'zeta'",
        "2 error(s), 0 warning(s) in " + str(root),
    ]


def test_strict_check_fails_on_warnings(
    write_kb: WriteKB, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = write_kb({"entries/gamma.md": entry_text(title="G", ask="g?", error="E_G", body="word " * 300)})
    monkeypatch.setenv("GUIDENEST_KNOWLEDGE_DIR", str(root))
    assert main(["kb", "check"]) == 0
    assert main(["kb", "check", "--strict"]) == 1
    assert "warning: the answer is 1499 characters" in capsys.readouterr().out


def test_export_json_has_entries_and_tables(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kb", "export", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"entries", "ports", "providers"}
    entry = next(e for e in data["entries"] if e["id"] == "imap-ports")
    assert {"id", "title", "questions", "errors", "tags", "answer"} <= set(entry)
    assert "993" in entry["answer"]
    assert any(row["port"] == 587 and row["security"] == "starttls" for row in data["ports"])
    assert any("gmail.com" in provider["domains"] for provider in data["providers"])


def test_export_refuses_broken_knowledge(
    write_kb: WriteKB, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    root = write_kb({"ports.yaml": "- protocol: FTP\n"})
    monkeypatch.setenv("GUIDENEST_KNOWLEDGE_DIR", str(root))
    assert main(["kb", "export", "--json"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "knowledge/ports.yaml:1: missing required field 'port'" in captured.err


def test_strict_check_fails_on_an_old_as_of(
    write_kb: WriteKB, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    old = entry_text(title="G", ask="g?", error="E_G").replace("title: G\n", "title: G\nas_of: 2020-01\n")
    monkeypatch.setenv("GUIDENEST_KNOWLEDGE_DIR", str(write_kb({"entries/gamma.md": old})))
    assert main(["kb", "check"]) == 0
    assert main(["kb", "check", "--strict"]) == 1
    out = capsys.readouterr().out
    assert "knowledge/entries/gamma.md:3: warning: as_of 2020-01 is " in out
    assert "months old (over 12)" in out


def test_strict_check_passes_on_a_current_as_of(
    write_kb: WriteKB, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    month = dt.datetime.now(tz=dt.UTC).strftime("%Y-%m")
    current = entry_text(title="G", ask="g?", error="E_G").replace("title: G\n", f"title: G\nas_of: {month}\n")
    monkeypatch.setenv("GUIDENEST_KNOWLEDGE_DIR", str(write_kb({"entries/gamma.md": current})))
    assert main(["kb", "check", "--strict"]) == 0
    assert main(["kb", "export", "--json"]) == 0
    exported = json.loads(capsys.readouterr().out.split("\n", 1)[1])
    by_id = {entry["id"]: entry for entry in exported["entries"]}
    assert by_id["gamma"]["as_of"] == month
    assert by_id["alpha"]["as_of"] is None
    assert exported["providers"][0]["settings_from"] == "provider"


def test_a_command_without_its_action_prints_its_help(capsys: pytest.CaptureFixture[str]) -> None:
    """`guidenest` and `guidenest kb` alone are a request for help, not a usage error."""
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "usage: guidenest" in out
    assert "kb" in out
    assert "provider" in out
    assert main(["kb"]) == 0
    out = capsys.readouterr().out
    assert "usage: guidenest kb" in out
    assert "check" in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as leaving:
        main(["--version"])
    assert leaving.value.code == 0
    assert capsys.readouterr().out == f"guidenest {bot.__version__}\n"
