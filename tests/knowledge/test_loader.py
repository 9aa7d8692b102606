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
        "knowledge/entries/gamma.md:5: unknown field 'sauce' "
        "(allowed: id, title, asks, errors, tags, related, sources, as_of, needs_mail_context)"
        in found
    )
    assert "knowledge/entries/gamma.md:2: missing required field 'sources'" in found
    assert len(found) == 2


def test_wrong_types_are_named(write_kb: WriteKB) -> None:
    text = entry_text(title="Gamma", ask="what is gamma", error="ERR_G").replace("tags: [test]", "tags: test")
    root = write_kb({"entries/gamma.md": text})
    assert errors_of(root) == ["knowledge/entries/gamma.md:7: tags: expected a list"]


def test_duplicate_ask_across_entries_names_both(write_kb: WriteKB) -> None:
    # Same phrase up to case and punctuation: one phrasing must lead to one answer.
    root = write_kb({"entries/gamma.md": entry_text(title="Gamma", ask="What is ALPHA?", error="ERR_G")})
    assert errors_of(root) == [
        ("knowledge/entries/gamma.md:4: asks: 'What is ALPHA?' is also in alpha.md:4 (asks); "
        "one phrasing must lead to one answer")
    ]


def test_duplicate_error_string(write_kb: WriteKB) -> None:
    root = write_kb({"entries/gamma.md": entry_text(title="Gamma", ask="what is gamma", error="err alpha")})
    assert errors_of(root) == [
        ("knowledge/entries/gamma.md:6: errors: 'err alpha' is also in alpha.md:6 (errors); "
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
    assert errors_of(root) == ["knowledge/entries/gamma.md:2: id: 'delta' differs from the file name 'gamma'"]


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
    assert "knowledge/providers.yaml:16: domains: 'example.com' already names provider 'example'" in found


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


# --- One mistake, one error, at its line ----------------------------------------------------------------------


def test_unclosed_quote_is_one_error_and_the_id_stays_known(write_kb: WriteKB) -> None:
    # beta's `related: [alpha]` still names a file that exists: no second error in beta.md.
    root = write_kb({"entries/alpha.md": entry_text(related="beta").replace("title: Alpha", 'title: "Alpha')})
    assert errors_of(root) == [
        ("knowledge/entries/alpha.md:2: front matter is not valid YAML: "
        "the quote opened on this line runs on to line 6; is its closing quote missing?")
    ]


def test_missing_or_empty_title_is_one_error(write_kb: WriteKB) -> None:
    root = write_kb({"entries/alpha.md": entry_text(related="beta").replace("title: Alpha\n", "")})
    assert errors_of(root) == ["knowledge/entries/alpha.md:2: missing required field 'title'"]
    root = write_kb({"entries/alpha.md": entry_text(related="beta").replace("title: Alpha", "title:")})
    assert errors_of(root) == ["knowledge/entries/alpha.md:2: missing required field 'title'"]
    root = write_kb({"entries/alpha.md": entry_text(related="beta").replace("title: Alpha", 'title: "  "')})
    assert errors_of(root) == ["knowledge/entries/alpha.md:2: title: expected non-empty text"]


def test_title_too_long(write_kb: WriteKB) -> None:
    root = write_kb({"entries/alpha.md": entry_text(title="T" * 300, related="beta")})
    assert errors_of(root) == ["knowledge/entries/alpha.md:2: title: 300 characters, at most 256"]


def test_a_bad_list_item_is_reported_at_its_own_line(write_kb: WriteKB) -> None:
    text = entry_text(related="beta").replace("asks:\n  - what is alpha", "asks:\n  - what is alpha\n  - 42")
    root = write_kb({"entries/alpha.md": text})
    assert errors_of(root) == ["knowledge/entries/alpha.md:5: asks: expected non-empty text"]


def test_duplicate_ask_is_blamed_where_it_fits_worse(write_kb: WriteKB) -> None:
    # "what is beta" is beta's own question; adding it to alpha (the first file) is alpha's mistake.
    text = entry_text(related="beta").replace("  - what is alpha", "  - what is alpha\n  - What is beta")
    root = write_kb({"entries/alpha.md": text})
    assert errors_of(root) == [
        (
            "knowledge/entries/alpha.md:5: asks: 'What is beta' is also in beta.md:4 (asks); "
            "one phrasing must lead to one answer"
        )
    ]


def test_phrase_twice_in_one_entry(write_kb: WriteKB) -> None:
    text = entry_text(related="beta").replace("  - what is alpha", "  - what is alpha\n  - What is alpha?")
    root = write_kb({"entries/alpha.md": text})
    assert errors_of(root) == ["knowledge/entries/alpha.md:5: asks: 'What is alpha?' is listed twice (also line 4)"]


# --- Sources --------------------------------------------------------------------------------------------------


def test_an_entry_needs_one_source_with_an_address(write_kb: WriteKB) -> None:
    text = entry_text(related="beta").replace("url: https://www.rfc-editor.org/rfc/rfc8314", "url: null")
    root = write_kb({"entries/alpha.md": text})
    assert errors_of(root) == [
        ("knowledge/entries/alpha.md:9: sources: at least one source needs an http(s) url, "
        "so the answer can be checked")
    ]


def test_a_source_without_address_is_fine_beside_one_with(write_kb: WriteKB) -> None:
    text = entry_text(related="beta").replace(
        "sources:\n", "sources:\n  - title: Guide Nest — Understanding Email Sync Port Configurations\n    url: null\n"
    )
    knowledge = load_knowledge(write_kb({"entries/alpha.md": text}))
    assert [source.url for source in knowledge.entries["alpha"].sources] == [
        None,
        "https://www.rfc-editor.org/rfc/rfc8314",
    ]


def test_source_url_must_be_http(write_kb: WriteKB) -> None:
    text = entry_text(related="beta").replace(
        "sources:\n", "sources:\n  - title: A file\n    url: file:///etc/passwd\n"
    )
    root = write_kb({"entries/alpha.md": text})
    assert errors_of(root) == ["knowledge/entries/alpha.md:11: url: expected an http(s) address or nothing (null)"]


# --- Providers ------------------------------------------------------------------------------------------------


def test_provider_settings_from_is_required_and_checked(write_kb: WriteKB) -> None:
    knowledge = load_knowledge(write_kb())
    assert knowledge.providers[0].settings_from == "provider"
    root = write_kb({"providers.yaml": PROVIDERS.replace("  settings_from: provider\n", "")})
    assert errors_of(root) == ["knowledge/providers.yaml:1: missing required field 'settings_from'"]
    root = write_kb({"providers.yaml": PROVIDERS.replace("settings_from: provider", "settings_from: thunderbird")})
    assert errors_of(root) == [
        "knowledge/providers.yaml:13: settings_from: 'thunderbird' is not one of ispdb, provider"
    ]
    ispdb = load_knowledge(write_kb({"providers.yaml": PROVIDERS.replace("from: provider", "from: ispdb")}))
    assert ispdb.providers[0].settings_from == "ispdb"


def test_provider_source_must_be_an_http_address(write_kb: WriteKB) -> None:
    root = write_kb({"providers.yaml": PROVIDERS.replace("https://example.com/help", "example.com/help")})
    assert errors_of(root) == [
        "knowledge/providers.yaml:12: source: expected an http(s) address, not 'example.com/help'"
    ]


def test_provider_servers_are_checked_per_direction(write_kb: WriteKB) -> None:
    providers = PROVIDERS.replace("{protocol: IMAP, host: imap.example.com", "{protocol: SMTP, host: IMAP.example")
    root = write_kb({"providers.yaml": providers})
    assert errors_of(root) == [
        "knowledge/providers.yaml:6: protocol: 'SMTP' is not one of IMAP, POP3",
        "knowledge/providers.yaml:6: host: 'IMAP.example' is not a host name",
    ]
    no_outgoing = PROVIDERS.replace("  outgoing:\n    - {protocol: SMTP", "  outgoing: []\n    #")
    root = write_kb({"providers.yaml": no_outgoing})
    assert errors_of(root) == [
        "knowledge/providers.yaml:7: outgoing: expected a list of at least one {protocol, host, port, security}"
    ]
