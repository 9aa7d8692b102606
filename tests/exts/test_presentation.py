"""The cogs' pure helpers: cards as embeds within Discord's limits, choices, listings, custom ids, audit text."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import discord
import pytest

from bot.cards.answers import answer_card
from bot.cards.card import EMBED_TOTAL_LIMIT, Card, Field, Tone
from bot.exts.common import COLOUR_ANSWER, COLOUR_ERROR, COLOUR_INFO, COLOUR_UNSURE, card_embed, is_moderator
from bot.exts.config import CHANNELS_SHOWN, channels_text
from bot.exts.feedback import AlternativesSelect, VoteButton, alternative_options, vote_custom_id
from bot.exts.lookup import to_choices
from bot.exts.maintenance import feedback_text, format_problems, misses_text
from bot.exts.probe import AUDIT_TEXT_LIMIT, typed_target
from bot.knowledge.loader import Problem
from bot.knowledge.model import Entry, Source
from bot.storage import EntryFeedback, GuildConfig, MissRow


def make_entry(entry_id: str = "imap-ports", title: str = "IMAP ports") -> Entry:
    return Entry(
        id=entry_id,
        title=title,
        asks=("imap port",),
        errors=(),
        tags=("imap",),
        related=(),
        sources=(Source("RFC 8314", "https://www.rfc-editor.org/rfc/rfc8314"),),
        answer="Use 993.",
        path=Path(f"/kb/entries/{entry_id}.md"),
    )


def test_card_embed_keeps_the_total_under_6000() -> None:
    fields = tuple(Field(f"field {i}", "v" * 1024) for i in range(5))
    card = Card(title="t" * 256, description="d" * 4096, fields=fields, footer="f" * 100)
    embed = card_embed(card)
    assert len(embed) <= EMBED_TOTAL_LIMIT
    assert embed.description is not None
    assert embed.description.endswith("…")
    assert [f.value for f in embed.fields] == ["v" * 1024] * 5  # fields are kept whole


def test_card_embed_never_sends_an_empty_field_or_description() -> None:
    embed = card_embed(Card(title="Ports", description="", fields=(Field("Empty", ""),)))
    assert embed.description is None
    assert embed.fields[0].value == "—"
    assert embed.footer.text is None


@pytest.mark.parametrize(
    ("tone", "colour"),
    [
        (Tone.ANSWER, COLOUR_ANSWER),
        (Tone.OK, COLOUR_ANSWER),
        (Tone.UNSURE, COLOUR_UNSURE),
        (Tone.INFO, COLOUR_INFO),
        (Tone.ERROR, COLOUR_ERROR),
        (Tone.FAIL, COLOUR_ERROR),
    ],
)
def test_card_embed_colour_comes_from_the_tone(tone: Tone, colour: discord.Colour) -> None:
    assert card_embed(Card(title="t", description="d", tone=tone)).colour == colour


def test_card_embed_puts_the_badge_first_in_the_footer() -> None:
    from bot.matching.matcher import Scored

    answer = card_embed(answer_card(Scored(make_entry(), 91.0), confident=True))
    assert answer.footer.text == "Match 91% · confident"
    both = card_embed(Card(title="t", description="d", footer="checked today", badge="Works"))
    assert both.footer.text == "Works · checked today"


def test_typed_target_is_cut_for_the_audit_log() -> None:
    assert typed_target("  mail.example.com \n", 993, "imap", None) == "mail.example.com:993 imap"
    assert len(typed_target("x" * 1000, 993, "imap", "ssl")) == AUDIT_TEXT_LIMIT


def test_to_choices_respects_discord_limits() -> None:
    pairs = [("n" * 150 + str(i), f"value-{i}" + "v" * 120) for i in range(40)]
    pairs.insert(1, ("duplicate", pairs[0][1]))
    pairs.insert(2, ("", "empty-name"))
    choices = to_choices(pairs)
    assert len(choices) == 25
    assert all(len(c.name) <= 100 and len(c.value) <= 100 for c in choices)
    assert len({c.value for c in choices}) == 25


def test_vote_custom_ids_fit_and_parse() -> None:
    for helpful in (True, False):
        custom_id = vote_custom_id(helpful, "ios-cannot-verify-server-identity")
        assert len(custom_id) <= 100
        match = VoteButton.__discord_ui_compiled_template__.fullmatch(custom_id)
        assert match is not None
        assert match["entry"] == "ios-cannot-verify-server-identity"
        assert match["kind"] == ("up" if helpful else "down")
    # An id that cannot be carried is left out (the stored answer says which entry it was).
    assert vote_custom_id(True, "x" * 95) == "gn:vote:up"
    assert vote_custom_id(False, "Bad Id") == "gn:vote:down"


def test_alternative_options_respect_select_limits() -> None:
    entries = [(make_entry(f"entry-{i}", "A very long title " * 10), 50.0 + i) for i in range(30)]
    options = alternative_options(entries, current="entry-3")
    assert len(options) == 25
    for option in options:
        assert len(option.label) <= 100
        assert len(option.value) <= 100
        assert len(option.description or "") <= 100
    assert [o.value for o in options if o.default] == ["entry-3:53"]
    select = AlternativesSelect(123456789012345678, options)
    assert len(select.custom_id) <= 100
    assert AlternativesSelect.__discord_ui_compiled_template__.fullmatch(select.custom_id)
    unscored = alternative_options([(make_entry(), None)], current=None)
    assert unscored[0].value == "imap-ports:"


def test_misses_text_escapes_and_fits() -> None:
    now = dt.datetime.now(dt.UTC)

    def row(text: str, count: int, reason: str, entry_id: str | None, score: float | None) -> MissRow:
        return MissRow(text=text, count=count, last_seen=now, reason=reason, entry_id=entry_id, score=score)

    rows = [
        row("**bold** @everyone `code`", 3, "no_match", None, None),
        row("gmail smtp", 1, "downvoted", "smtp-ports", None),
    ] + [row("q" * 500, 1, "no_match", "a", 40.0)] * 30
    text = misses_text(rows)
    assert len(text) <= 1024
    first, second = text.splitlines()[:2]
    assert "\\*\\*bold\\*\\*" in first
    assert "@\u200beveryone" in first
    assert "\\`code\\`" in first
    assert "👎" in second
    assert "`smtp-ports`" in second
    assert misses_text([]) == "None recorded."


def test_feedback_text() -> None:
    rows = [EntryFeedback("imap-ports", helpful=1, not_helpful=4)]
    assert feedback_text(rows) == "`imap-ports` — 👎 4 · 👍 1"
    assert feedback_text([]) == "No votes yet."


def test_format_problems_shows_file_and_line_in_a_code_block() -> None:
    root = Path("/srv/bot/knowledge")
    problems = [Problem(root / "entries" / "x.md", 3, "missing required field `title`")] + [
        Problem(root / "ports.yaml", i, "bad row " + "z" * 80) for i in range(100)
    ]
    text = format_problems(problems, root, 4096)
    assert len(text) <= 4096
    assert text.startswith("```\nknowledge/entries/x.md:3: missing required field \u02cbtitle\u02cb")
    assert text.endswith("more\n```")
    assert text.count("```") == 2


def test_channels_text_lists_and_caps() -> None:
    assert "Nowhere yet" in channels_text(frozenset())
    listed = channels_text(frozenset(range(1, 100)))
    assert listed.count("<#") == CHANNELS_SHOWN
    assert listed.endswith("and 59 more")
    assert len(listed) <= 1024


class _Role:
    def __init__(self, role_id: int) -> None:
        self.id = role_id


class _Member:
    def __init__(self, *role_ids: int) -> None:
        self.roles = [_Role(role_id) for role_id in role_ids]


def test_is_moderator() -> None:
    plain = discord.Permissions(send_messages=True)
    config = GuildConfig(guild_id=1, moderator_role_id=77)
    member: discord.Member = _Member(5)  # type: ignore[assignment]
    moderator: discord.Member = _Member(5, 77)  # type: ignore[assignment]
    assert not is_moderator(member, plain, config)
    assert is_moderator(moderator, plain, config)
    assert is_moderator(member, discord.Permissions(manage_guild=True), config)
    assert is_moderator(member, discord.Permissions(administrator=True), config)
    assert not is_moderator(moderator, plain, GuildConfig(guild_id=1))
