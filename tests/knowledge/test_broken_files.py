"""One broken file gives one error, in that file, at the line of the mistake.

Each test copies the shipped knowledge, breaks one file and compares the problems with those of the unbroken copy:
whatever state the rest of the knowledge is in, the break must add exactly the one expected error.
"""

from __future__ import annotations

import re
import shutil
from typing import TYPE_CHECKING

import pytest

from bot.knowledge.loader import check_knowledge
from bot.settings import DEFAULT_KNOWLEDGE_DIR

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path


@pytest.fixture
def shipped_copy(tmp_path: Path) -> Path:
    root = tmp_path / "knowledge"
    shutil.copytree(DEFAULT_KNOWLEDGE_DIR, root)
    return root


def added_problems(root: Path, name: str, change: Callable[[str], str]) -> list[str]:
    """The problems that changing entries/<name> adds to the copy (and none may go missing but its own)."""
    _, before = check_knowledge(root)
    path = root / "entries" / name
    path.write_text(change(path.read_text(encoding="utf-8")), encoding="utf-8")
    _, after = check_knowledge(root)
    earlier = {p.format(root) for p in before}
    now = [p.format(root) for p in after]
    gone = [p for p in earlier - set(now) if not p.startswith(f"knowledge/entries/{name}:")]
    assert gone == [], "breaking one file must not hide problems of another"
    return [p for p in now if p not in earlier]


def line_of(root: Path, name: str, pattern: str) -> int:
    lines = (root / "entries" / name).read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, 1) if re.search(pattern, line))


def test_unclosed_quote_is_one_error_at_the_opening_line(shipped_copy: Path) -> None:
    title_line = line_of(shipped_copy, "imap-ports.md", r"^title: ")
    added = added_problems(
        shipped_copy, "imap-ports.md", lambda text: re.sub(r"(?m)^title: ", 'title: "', text, count=1)
    )
    # Other entries' `related: [imap-ports]` are no errors: the file still has its id, its name.
    assert len(added) == 1, added
    assert added[0].startswith(f"knowledge/entries/imap-ports.md:{title_line}: front matter is not valid YAML: ")
    assert "quote" in added[0]


def test_unclosed_quote_at_the_end_of_the_front_matter(shipped_copy: Path) -> None:
    # No later quote to close it: PyYAML runs to the end of the text, the report stays at the opening line.
    added = added_problems(
        shipped_copy, "imap-ports.md", lambda text: re.sub(r"(?m)^title: ", "title: '", text, count=1)
    )
    title_line = line_of(shipped_copy, "imap-ports.md", r"^title: ")
    assert added == [
        (f"knowledge/entries/imap-ports.md:{title_line}: front matter is not valid YAML: "
        "a quote opened on this line is never closed")
    ]


def test_missing_title_is_reported_once(shipped_copy: Path) -> None:
    added = added_problems(
        shipped_copy, "imap-ports.md", lambda text: re.sub(r"(?m)^title: .*\n", "", text, count=1)
    )
    assert added == ["knowledge/entries/imap-ports.md:2: missing required field 'title'"]


@pytest.mark.parametrize("phrase", ["smtp port?", "which smtp port should i use", "outgoing mail port"])
def test_duplicate_ask_is_blamed_on_the_file_it_fits_worse(shipped_copy: Path, phrase: str) -> None:
    # imap-ports.md sorts before smtp-ports.md: order alone would blame the wrong file.
    smtp = (shipped_copy / "entries" / "smtp-ports.md").read_text(encoding="utf-8")
    if f"  - {phrase}\n" not in smtp:
        pytest.skip(f"smtp-ports.md no longer asks {phrase!r}")
    where = line_of(shipped_copy, "smtp-ports.md", rf"^  - {re.escape(phrase)}$")
    added_at = line_of(shipped_copy, "imap-ports.md", r"^asks:") + 1
    added = added_problems(
        shipped_copy, "imap-ports.md", lambda text: text.replace("asks:\n", f"asks:\n  - {phrase}\n", 1)
    )
    assert added == [
        (f"knowledge/entries/imap-ports.md:{added_at}: asks: {phrase!r} is also in smtp-ports.md:{where} (asks); "
        "one phrasing must lead to one answer")
    ]


def test_duplicate_ask_the_other_way_round(shipped_copy: Path) -> None:
    imap = (shipped_copy / "entries" / "imap-ports.md").read_text(encoding="utf-8")
    if "  - imap port?\n" not in imap:
        pytest.skip("imap-ports.md no longer asks 'imap port?'")
    where = line_of(shipped_copy, "imap-ports.md", r"^  - imap port\?$")
    added_at = line_of(shipped_copy, "smtp-ports.md", r"^asks:") + 1
    added = added_problems(
        shipped_copy, "smtp-ports.md", lambda text: text.replace("asks:\n", "asks:\n  - imap port?\n", 1)
    )
    assert added == [
        (f"knowledge/entries/smtp-ports.md:{added_at}: asks: 'imap port?' is also in imap-ports.md:{where} (asks); "
        "one phrasing must lead to one answer")
    ]


def test_an_example_naming_no_entry_is_one_error_at_its_line(shipped_copy: Path) -> None:
    path = shipped_copy / "examples" / "messages.yaml"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    first_row = next(i for i, line in enumerate(lines) if line.startswith("- "))
    lines.insert(first_row, "- entry: no-such-entry\n  text: my mail is broken\n")
    path.write_text("".join(lines), encoding="utf-8")
    knowledge, problems = check_knowledge(shipped_copy)
    assert knowledge is None
    errors = [p.format(shipped_copy) for p in problems if p.severity == "error"]
    assert len(errors) == 1, errors
    assert errors[0].startswith(f"knowledge/examples/messages.yaml:{first_row + 1}:"), errors
    assert "no entry with id 'no-such-entry'" in errors[0]


def test_an_example_without_text_is_an_error(shipped_copy: Path) -> None:
    path = shipped_copy / "examples" / "extra.yaml"
    path.write_text("- entry: null\n  text: ''\n", encoding="utf-8")
    _, problems = check_knowledge(shipped_copy)
    errors = [p.format(shipped_copy) for p in problems if p.severity == "error"]
    assert len(errors) == 1, errors
    assert errors[0].startswith("knowledge/examples/extra.yaml:"), errors


def test_other_answering_entries_are_checked_like_the_first(shipped_copy: Path) -> None:
    path = shipped_copy / "examples" / "extra.yaml"
    path.write_text(
        "- entry: imap-ports\n  also: [pop3-ports]\n  text: which port for my mail app\n"
        "- entry: imap-ports\n  also: [no-such-entry]\n  text: imap or pop port\n"
        "- entry: null\n  also: [imap-ports]\n  text: my game says port closed\n",
        encoding="utf-8",
    )
    knowledge, problems = check_knowledge(shipped_copy)
    assert knowledge is None
    errors = [p.format(shipped_copy) for p in problems if p.severity == "error"]
    assert len(errors) == 2, errors
    assert errors[0].startswith("knowledge/examples/extra.yaml:5:"), errors
    assert "'no-such-entry'" in errors[0], errors
    assert errors[1].startswith("knowledge/examples/extra.yaml:8:"), errors
    assert "entry: null" in errors[1], errors
    path.write_text("- entry: imap-ports\n  also: [pop3-ports]\n  text: which port for my mail app\n", encoding="utf-8")
    knowledge, problems = check_knowledge(shipped_copy)
    assert knowledge is not None, [p.format(shipped_copy) for p in problems]
    assert [e.also for e in knowledge.examples if e.text == "which port for my mail app"] == [("pop3-ports",)]


@pytest.mark.parametrize("value", ['"yes"', "1", "[true]"])
def test_needs_mail_context_is_true_or_false(shipped_copy: Path, value: str) -> None:
    # Strict types: a quoted "yes" or a number is a mistake, reported at the field's line.
    flag_line = line_of(shipped_copy, "cert-expired.md", r"^needs_mail_context: ")
    added = added_problems(
        shipped_copy,
        "cert-expired.md",
        lambda text: re.sub(r"(?m)^needs_mail_context: .*$", f"needs_mail_context: {value}", text, count=1),
    )
    assert len(added) == 1, added
    assert added[0].startswith(f"knowledge/entries/cert-expired.md:{flag_line}: needs_mail_context"), added[0]


def test_a_key_given_twice_is_one_error_at_the_second(shipped_copy: Path) -> None:
    # A second `url:` pasted under one source would otherwise replace the first without a word.
    first = line_of(shipped_copy, "imap-ports.md", r"^    url: ")
    added = added_problems(
        shipped_copy,
        "imap-ports.md",
        lambda text: re.sub(r"(?m)^(    url: .*\n)", r"\1    url: https://example.org/\n", text, count=1),
    )
    assert added == [
        (
            f"knowledge/entries/imap-ports.md:{first + 1}: front matter is not valid YAML: "
            "'url' is given twice here; the first would be lost"
        )
    ]
