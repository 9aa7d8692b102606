"""Validation reports every problem with its file and line, and a broken knowledge base never loads."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from bot.knowledge.loader import KnowledgeError, check_knowledge, dedup_key, load_knowledge
from tests.knowledge.conftest import PORTS, PROVIDERS, WriteKB, entry_text

if TYPE_CHECKING:
    from pathlib import Path


def errors_of(root: Path) -> list[str]:
    knowledge, problems = check_knowledge(root)
    assert knowledge is None, "a knowledge base with errors must not load"
    return [p.format(root) for p in problems if p.severity == "error"]


def test_valid_knowledge_loads_with_every_field(write_kb: WriteKB) -> None:
    knowledge = load_knowledge(write_kb())
    alpha = knowledge.entries["alpha"]
    assert alpha.title == "Alpha"
    assert alpha.asks == ("what is alpha",)
    assert alpha.errors == ("ERR_ALPHA",)
    assert alpha.related == ("beta",)
    assert alpha.sources[0].url == "https://www.rfc-editor.org/rfc/rfc8314"
    assert alpha.answer == "Do it."
    assert knowledge.ports[0].port == 993
    assert knowledge.providers[0].incoming[0].host == "imap.example.com"


def test_missing_front_matter_is_reported_on_line_one(write_kb: WriteKB) -> None:
    root = write_kb({"entries/gamma.md": "just text\n"})
    assert errors_of(root) == [
        "knowledge/entries/gamma.md:1: the file must start with front matter between two '---' lines"
    ]


def test_yaml_syntax_error_points_at_its_line(write_kb: WriteKB) -> None:
    broken = "---\ntitle: Gamma\nasks: [unclosed\ntags: [x]\n---\nBody\n"
    root = write_kb({"entries/gamma.md": broken})
    (message,) = errors_of(root)
    assert message.startswith("knowledge/entries/gamma.md:4: front matter is not valid YAML")


def test_missing_field_and_unknown_field(write_kb: WriteKB) -> None:
    text = "---\ntitle: Gamma\nasks: [what is gamma]\ntags: [x]\nsauce: [typo]\n---\nBody\n"
    root = write_kb({"entries/gamma.md": text})
    found = errors_of(root)
    assert (
        "knowledge/entries/gamma.md:5: unknown field 'sauce' (allowed: id, title, asks, errors, tags, related, sources)"
        in found
    )
    assert "knowledge/entries/gamma.md:2: missing required field 'sources'" in found


def test_wrong_types_are_named(write_kb: WriteKB) -> None:
    text = entry_text(title="Gamma", ask="what is gamma", error="ERR_G").replace("tags: [test]", "tags: test")
    root = write_kb({"entries/gamma.md": text})
    assert errors_of(root) == ["knowledge/entries/gamma.md:7: tags: expected a list"]


def test_duplicate_ask_across_entries_names_both(write_kb: WriteKB) -> None:
    # Same phrase up to case and punctuation: one phrasing must lead to one answer.
    root = write_kb({"entries/gamma.md": entry_text(title="Gamma", ask="What is ALPHA?", error="ERR_G")})
    assert errors_of(root) == [
        ("knowledge/entries/gamma.md:4: asks: 'What is ALPHA?' is already in alpha (asks); "
        "one phrasing must lead to one answer")
    ]


def test_duplicate_error_string(write_kb: WriteKB) -> None:
    root = write_kb({"entries/gamma.md": entry_text(title="Gamma", ask="what is gamma", error="err alpha")})
    assert errors_of(root) == [
        ("knowledge/entries/gamma.md:6: errors: 'err alpha' is already in alpha (errors); "
        "one phrasing must lead to one answer")
    ]


def test_dangling_related_id(write_kb: WriteKB) -> None:
    root = write_kb({"entries/gamma.md": entry_text(title="Gamma", ask="g?", error="E_G", related="nowhere")})
    assert errors_of(root) == ["knowledge/entries/gamma.md:8: related: no entry with id 'nowhere'"]


def test_answer_length_error_and_warning(write_kb: WriteKB) -> None:
    root = write_kb({"entries/gamma.md": entry_text(title="G", ask="g?", error="E_G", body="x " * 2100)})
    assert errors_of(root) == ["knowledge/entries/gamma.md:13: the answer is 4199 characters, at most 4096"]

    root = write_kb({"entries/gamma.md": entry_text(title="G", ask="g?", error="E_G", body="y " * 700)})
    knowledge, problems = check_knowledge(root)
    assert knowledge is not None
    assert [p.format(root) for p in problems] == [
        "knowledge/entries/gamma.md:13: warning: the answer is 1399 characters; aim for 1200"
    ]


def test_empty_answer_and_bad_file_name(write_kb: WriteKB) -> None:
    root = write_kb({"entries/Gamma_Entry.md": entry_text(title="G", ask="g?", error="E_G", body="")})
    found = errors_of(root)
    assert (
        "knowledge/entries/Gamma_Entry.md:1: file name 'Gamma_Entry.md': "
        "ids are lower-case letters, digits and single hyphens"
        in found
    )
    assert (
        "knowledge/entries/Gamma_Entry.md:13: the answer (the text after the front matter) is empty" in found
    )


def test_id_must_match_file_name(write_kb: WriteKB) -> None:
    text = entry_text(title="G", ask="g?", error="E_G").replace("title: G", "id: delta\ntitle: G")
    root = write_kb({"entries/gamma.md": text})
    assert errors_of(root) == ["knowledge/entries/gamma.md:2: id 'delta' differs from the file name 'gamma'"]


def test_port_table_types(write_kb: WriteKB) -> None:
    ports = PORTS.replace("port: 993", "port: nine-nine-three").replace("security: ssl", "security: tls")
    root = write_kb({"ports.yaml": ports})
    assert errors_of(root) == [
        "knowledge/ports.yaml:2: port: expected a whole number from 1 to 65535",
        "knowledge/ports.yaml:3: security: 'tls' is not one of ssl, starttls, none",
    ]


def test_provider_table_checks(write_kb: WriteKB) -> None:
    providers = PROVIDERS.replace("entry: beta", "entry: gone") + PROVIDERS.replace(
        "id: example", "id: other"
    )
    root = write_kb({"providers.yaml": providers})
    found = errors_of(root)
    assert "knowledge/providers.yaml:11: entry: no entry with id 'gone'" in found
    assert "knowledge/providers.yaml:15: domains: 'example.com' already names provider 'example'" in found


def test_missing_table_file(write_kb: WriteKB) -> None:
    root = write_kb({"ports.yaml": None})
    assert errors_of(root) == ["knowledge/ports.yaml:1: the file is missing"]


def test_load_raises_with_every_error(write_kb: WriteKB) -> None:
    root = write_kb({"entries/gamma.md": "nothing\n", "entries/delta.md": "---\ntitle: D\n---\nx\n"})
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(root)
    text = str(caught.value)
    assert "gamma.md:1:" in text
    assert "delta.md:2: missing required field 'asks'" in text


def test_dedup_key_ignores_case_spacing_and_punctuation() -> None:
    assert dedup_key("  What's the IMAP port?? ") == dedup_key("whats the imap port")
    assert dedup_key("0x800CCC0E") == dedup_key("0x800ccc0e")
    assert dedup_key("535 5.7.8") != dedup_key("535 5.7.9")
