"""`/kb stats` and `/kb reload` (moderators): what the bot missed, and new knowledge without a restart."""

from __future__ import annotations

import re
import shutil
from typing import TYPE_CHECKING

import pytest

from bot.knowledge.loader import check_knowledge
from bot.settings import DEFAULT_KNOWLEDGE_DIR
from tests.e2e.cogs_helpers import embed, enable_channel, shown_entry, vote_ids

if TYPE_CHECKING:
    from pathlib import Path


async def test_kb_stats_shows_top_misses_and_worst_feedback(e2e):
    world = e2e.world
    await enable_channel(e2e, world.help)
    for author in (world.member, world.helper):
        await e2e.send_message("**why** is @everyone so quiet _today_", author=author)
    await e2e.send_message("banana smoothie recipe")
    question = await e2e.send_message("0x800CCC0E", channel=world.general, mention_bot=True)
    answer = await e2e.wait_for_reply(question)
    await (await e2e.click(answer, vote_ids(answer)[1], user=world.member)).reply()
    await e2e.settle()

    stats = await (await e2e.slash("kb stats", user=world.moderator)).reply()
    assert stats.ephemeral
    fields = {f["name"]: f["value"] for f in embed(stats)["fields"]}
    misses = fields["Top misses (last 30 days)"].splitlines()
    # The most frequent first; members' text shown literally, markdown and mass mentions defused.
    assert misses[0].startswith("**2\u00d7** \\*\\*why\\*\\* is @\u200beveryone so quiet \\_today\\_")
    assert any("0x800CCC0E" in line and "👎" in line for line in misses)
    assert fields["Worst feedback"] == "`outlook-0x800ccc0e` — 👎 1 · 👍 0"
    assert f"{len(e2e.bot.knowledge.current.knowledge.entries)} answers" in embed(stats)["description"]


async def test_kb_stats_stays_within_discords_limits(e2e):
    storage = e2e.bot.storage
    for number in range(40):
        text = f"question {number} " + "`very` **long** " * 80
        await storage.record_miss(
            guild_id=e2e.world.guild.id,
            channel_id=None,
            text=text,
            reason="no_match",
            entry_id=None,
            score=None,
        )
    stats = await (await e2e.slash("kb stats", user=e2e.world.moderator)).reply()
    misses = embed(stats)["fields"][0]["value"].splitlines()
    # As many of the top ten as fit, each shortened; the emulator fails the test on any limit broken.
    assert 5 <= len(misses) <= 10
    assert all(len(line) < 200 for line in misses)


async def test_kb_stats_when_nothing_happened_yet(e2e):
    stats = await (await e2e.slash("kb stats", user=e2e.world.owner)).reply()
    fields = {f["name"]: f["value"] for f in embed(stats)["fields"]}
    assert fields["Top misses (last 30 days)"] == "None recorded."
    assert fields["Worst feedback"] == "No votes yet."


NEW_ENTRY = """---
title: Carrier pigeons do not speak SMTP
asks:
  - can a carrier pigeon deliver my email
tags: [humour]
sources:
  - title: RFC 1149 — IP over Avian Carriers
    url: https://www.rfc-editor.org/rfc/rfc1149
---
Pigeons carry IP datagrams (RFC 1149), not mail client settings. Use port 587 or 465 for sending.
"""


class TestReload:
    """The bot reads a copy of the shipped knowledge (settings.knowledge_dir), which the test edits."""

    @pytest.fixture
    def knowledge_copy(self, tmp_path: Path) -> Path:
        copy = tmp_path / "knowledge"
        shutil.copytree(DEFAULT_KNOWLEDGE_DIR, copy, ignore=shutil.ignore_patterns("README.md"))
        return copy

    @pytest.fixture
    def settings_overrides(self, knowledge_copy: Path):
        return {"knowledge_dir": knowledge_copy}

    async def test_broken_file_keeps_old_knowledge_then_the_fix_loads(self, e2e, knowledge_copy):
        world = e2e.world
        before = len(e2e.bot.knowledge.current.knowledge.entries)
        entry_file = knowledge_copy / "entries" / "imap-ports.md"
        original = entry_file.read_text(encoding="utf-8")
        entry_file.write_text(
            original.replace("tags: [imap, ports, incoming, tls]", "tags: [imap, ports"), "utf-8"
        )
        expected = [
            p.format(knowledge_copy) for p in check_knowledge(knowledge_copy)[1] if p.severity == "error"
        ]
        assert expected

        inter = await e2e.slash("kb reload", user=world.moderator)
        report = await inter.reply()
        assert inter.response_type == 5  # deferred: reading files may take a moment
        assert report.ephemeral
        card = embed(report)
        assert card["title"].startswith("Reload failed")
        assert expected[0] in card["description"]
        assert re.search(r"knowledge/entries/imap-ports\.md:\d+: ", card["description"])
        assert f"previous knowledge ({before} answers)" in card["footer"]["text"]
        # Still answering from the old knowledge, the broken entry included.
        answer = await (await e2e.slash("ask", question="what port does imap use")).reply()
        assert shown_entry(answer) == "imap-ports"

        # More broken files than an embed can list: as many as fit, and how many more there are.
        broken = [knowledge_copy / "entries" / f"broken-{n:02}.md" for n in range(60)]
        for path in broken:
            path.write_text("---\ntitle: " + "x" * 300 + "\n---\n", "utf-8")
        report = await (await e2e.slash("kb reload", user=world.moderator)).reply()
        card = embed(report)
        assert card["title"].startswith("Reload failed")
        assert card["description"].startswith("```\nknowledge/entries/broken-00.md:")
        assert re.search(
            r"\n… and \d+ more\n```$", card["description"]
        )  # within limits: checked by the emulator

        for path in broken:
            path.unlink()
        entry_file.write_text(original, "utf-8")
        (knowledge_copy / "entries" / "carrier-pigeons.md").write_text(NEW_ENTRY, "utf-8")
        # New knowledge fits the re-ranker anew (seconds on a busy machine; the gateway stays served meanwhile).
        report = await (await e2e.slash("kb reload", user=world.moderator)).reply(timeout=60)
        assert embed(report)["title"] == "Knowledge reloaded"
        assert f"{before + 1} answers loaded (before: {before})" in embed(report)["description"]
        answer = await (await e2e.slash("ask", question="can a carrier pigeon deliver my email")).reply()
        assert shown_entry(answer) == "carrier-pigeons"
