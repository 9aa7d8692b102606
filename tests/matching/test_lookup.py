"""Port and provider look-ups, and the autocomplete choices built on them."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from bot.matching.lookup import (
    MAX_LABEL,
    find_ports,
    find_provider,
    lookup_provider,
    port_choices,
    provider_choices,
)

if TYPE_CHECKING:
    from bot.knowledge.model import KnowledgeBase


def ports(knowledge: KnowledgeBase, query: str) -> list[tuple[str, int, str]]:
    return [(r.protocol, r.port, r.security) for r in find_ports(knowledge, query)]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("imap", [("IMAP", 993, "ssl"), ("IMAP", 143, "starttls")]),
        ("IMAP?", [("IMAP", 993, "ssl"), ("IMAP", 143, "starttls")]),
        ("993", [("IMAP", 993, "ssl")]),
        ("port 587", [("SMTP", 587, "starttls")]),
        ("smtp starttls", [("SMTP", 587, "starttls"), ("SMTP", 25, "starttls")]),
        ("pop3 ssl", [("POP3", 995, "ssl")]),
        ("pop ssl/tls", [("POP3", 995, "ssl")]),
        ("submission", [("SMTP", 587, "starttls")]),
        ("submissions", [("SMTP", 465, "ssl")]),
        ("imaps", [("IMAP", 993, "ssl")]),
        ("outgoing ssl", [("SMTP", 465, "ssl")]),
        ("465 587", [("SMTP", 465, "ssl"), ("SMTP", 587, "starttls")]),
        ("imao", [("IMAP", 993, "ssl"), ("IMAP", 143, "starttls")]),  # a typo
        ("stmp recommended", [("SMTP", 465, "ssl"), ("SMTP", 587, "starttls")]),
    ],
)
def test_find_ports_reads_the_query_as_constraints(
    fixture_kb: KnowledgeBase, query: str, expected: list[tuple[str, int, str]]
) -> None:
    assert ports(fixture_kb, query) == expected


def test_an_empty_port_query_gives_the_whole_table(fixture_kb: KnowledgeBase) -> None:
    assert find_ports(fixture_kb, "") == list(fixture_kb.ports)
    assert find_ports(fixture_kb, "   ") == list(fixture_kb.ports)


@pytest.mark.parametrize("query", ["imap 587", "22", "hello", "😀", "\u200b", "x" * 5000])
def test_a_port_query_that_fits_no_row_finds_nothing(fixture_kb: KnowledgeBase, query: str) -> None:
    assert find_ports(fixture_kb, query) == []


def test_port_choices_values_find_exactly_their_row(fixture_kb: KnowledgeBase) -> None:
    choices = port_choices(fixture_kb, "")
    assert len(choices) == len(fixture_kb.ports)
    for label, value in choices:
        assert 0 < len(label) <= MAX_LABEL
        assert 0 < len(value) <= MAX_LABEL
        assert len(find_ports(fixture_kb, value)) == 1


def test_port_choices_follow_what_is_typed(fixture_kb: KnowledgeBase) -> None:
    assert [v for _, v in port_choices(fixture_kb, "99")] == ["imap 993 ssl", "pop3 995 ssl"]
    assert port_choices(fixture_kb, "smtp")[0][1].startswith("smtp")
    assert port_choices(fixture_kb, "imap", limit=1) == [port_choices(fixture_kb, "imap")[0]]
    assert port_choices(fixture_kb, "zzzz") == []


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("gmail", "gmail"),
        ("Gmail", "gmail"),
        ("google mail", "gmail"),
        ("user@gmail.com", "gmail"),
        ("<someone@googlemail.com>", "gmail"),
        ("smtp.gmail.com", "gmail"),
        ("gmial", "gmail"),
        ("hotmail", "outlook-com"),
        ("hotmial", "outlook-com"),
        ("outlook.com", "outlook-com"),
        ("me@live.com", "outlook-com"),
        ("office 365", "microsoft-365"),
        ("smtp.office365.com", "microsoft-365"),
        ("contoso.onmicrosoft.com", "microsoft-365"),
        ("gmail smtp settings", "gmail"),
    ],
)
def test_find_provider_by_name_alias_domain_address_or_typo(
    fixture_kb: KnowledgeBase, name: str, expected: str
) -> None:
    found = find_provider(fixture_kb, name)
    assert found
    assert found[0].id == expected


def test_an_exact_name_hides_look_alikes_and_a_typo_says_it_is_one(fixture_kb: KnowledgeBase) -> None:
    assert [p.id for p in find_provider(fixture_kb, "gmail")] == ["gmail"]
    exact, typo = lookup_provider(fixture_kb, "gmail"), lookup_provider(fixture_kb, "gmial")
    assert (exact.matched_by, typo.matched_by) == ("name", "typo")
    assert typo.match is not None
    assert typo.match.id == "gmail"


def test_a_shared_server_host_names_every_provider_using_it(fixture_kb: KnowledgeBase) -> None:
    assert {p.id for p in find_provider(fixture_kb, "outlook.office365.com")} == {
        "outlook-com",
        "microsoft-365",
    }


@pytest.mark.parametrize("name", ["", "   ", "zzzzzz", "example.org", "😀", "a" * 3000])
def test_unknown_providers_find_nothing(fixture_kb: KnowledgeBase, name: str) -> None:
    assert find_provider(fixture_kb, name) == []


def test_provider_choices(fixture_kb: KnowledgeBase) -> None:
    everything = provider_choices(fixture_kb, "")
    assert [v for _, v in everything] == ["gmail", "microsoft-365", "outlook-com"]  # by name
    assert [v for _, v in provider_choices(fixture_kb, "ho")] == ["outlook-com"]  # hotmail
    assert provider_choices(fixture_kb, "gmial")[0][1] == "gmail"
    for label, value in everything:
        assert len(label) <= MAX_LABEL
        assert find_provider(fixture_kb, value)[0].id == value  # the value finds its provider again


# --- The shipped tables: the examples the commands document -----------------------------------------------


@pytest.mark.parametrize(
    ("query", "port"),
    [("imap", 993), ("993", 993), ("smtp starttls", 587), ("pop3 ssl", 995), ("submission", 587)],
)
def test_shipped_ports_answer_the_documented_examples(shipped_kb: KnowledgeBase, query: str, port: int) -> None:
    assert port in {r.port for r in find_ports(shipped_kb, query)}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("hotmail", "outlook-com"),
        ("outlook.com", "outlook-com"),
        ("gmail", "gmail"),
        ("user@gmail.com", "gmail"),
        ("yahooo", "yahoo"),
        ("icloud", "icloud"),
        ("me.com", "icloud"),
    ],
)
def test_shipped_providers_answer_the_documented_examples(shipped_kb: KnowledgeBase, name: str, expected: str) -> None:
    assert find_provider(shipped_kb, name)[0].id == expected


def test_every_shipped_autocomplete_value_finds_its_row(shipped_kb: KnowledgeBase) -> None:
    for _, value in port_choices(shipped_kb, ""):
        assert len(find_ports(shipped_kb, value)) == 1
    for _, value in provider_choices(shipped_kb, ""):
        assert find_provider(shipped_kb, value)[0].id == value


def test_invisible_characters_do_not_split_a_port_or_a_provider(fixture_kb: KnowledgeBase) -> None:
    assert [row.port for row in find_ports(fixture_kb, "99\u200b3")] == [993]
    found = find_provider(fixture_kb, "gm\u200bail")
    assert found
    assert found[0].id == "gmail"


# --- A guess is never presented as a match ------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    ["xyzmail", "hey.com", "my work email", "email", "mail", "my email settings", "protonmaill.example", "me"],
)
def test_queries_that_name_no_provider_match_nothing(shipped_kb: KnowledgeBase, query: str) -> None:
    """Each of these once showed some provider's settings (Yahoo for xyzmail, iCloud for hey.com, Gmail for
    "my work email") with no sign of a guess."""
    found = lookup_provider(shipped_kb, query)
    assert found.match is None, found.match
    assert find_provider(shipped_kb, query) == []



@pytest.mark.parametrize("query", ["xyzmail", "hey.com", "my work email", "my email settings"])
def test_autocomplete_offers_no_guesses(shipped_kb: KnowledgeBase, query: str) -> None:
    """Autocomplete lists names that begin with what is typed, and real matches; nothing else."""
    assert provider_choices(shipped_kb, query) == []


def test_an_unknown_name_offers_the_nearest_names_and_an_unknown_domain_offers_discovery(
    shipped_kb: KnowledgeBase,
) -> None:
    name = lookup_provider(shipped_kb, "yahho mail service")
    assert name.match is None or name.match.id == "yahoo"
    unknown = lookup_provider(shipped_kb, "xyzmail")
    assert unknown.nearest
    assert unknown.domain is None
    domain = lookup_provider(shipped_kb, "someone@hey.com")
    assert domain.match is None
    assert domain.domain == "hey.com"
    assert domain.nearest == ()


@pytest.mark.parametrize(
    ("query", "expected", "how"),
    [
        ("me@live.nl", "outlook-com", "domain"),
        ("hotmail.ca", "outlook-com", "domain"),
        ("outlook.com.br", "outlook-com", "domain"),
        ("gmial", "gmail", "typo"),
        ("hotmial", "outlook-com", "typo"),
        ("yahooo", "yahoo", "typo"),
        ("google mail", "gmail", "name"),
        ("gmail smtp settings", "gmail", "name"),
        ("imap.gmail.com", "gmail", "server"),
        ("user@web.de", "web-de", "domain"),
        ("xfinity", "comcast", "name"),
    ],
)
def test_real_matches_say_how_they_matched(shipped_kb: KnowledgeBase, query: str, expected: str, how: str) -> None:
    found = lookup_provider(shipped_kb, query)
    assert found.match is not None
    assert (found.match.id, found.matched_by) == (expected, how)


def test_port_autocomplete_offers_only_real_rows(shipped_kb: KnowledgeBase) -> None:
    assert port_choices(shipped_kb, "ssh") == []
    assert port_choices(shipped_kb, "8080") == []
    assert port_choices(shipped_kb, "https") == []
    assert {v for _, v in port_choices(shipped_kb, "imap sta")} == {"imap 143 starttls"}
    assert {v.split()[1] for _, v in port_choices(shipped_kb, "99")} == {"993", "995"}
    assert {v.split()[0] for _, v in port_choices(shipped_kb, "smtp")} == {"smtp"}
