"""Screenshots answered as the same text pasted: the rendered set (tests/ocr/screenshots.py) read by the real
reader, each decision compared with the decision on its pasted text (same entry, same confident or not)."""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING

from bot.conversation import Conversation, Incoming, NothingRecorded, Reply, effective_rules
from bot.metrics import Metrics
from bot.ocr.service import Screenshots
from bot.settings import Settings
from tests.ocr.screenshots import LAYOUTS, SHOTS, THEMES

if TYPE_CHECKING:
    from bot.knowledge.service import KnowledgeService
    from bot.ocr.reader import ScreenshotReader

# The share of screenshots whose answer must equal the pasted text's (the target). The figure measured
# is in README's benchmarks and in benchmarks/ocr.py's output.
TARGET = 0.90


def test_the_set_is_large_and_varied() -> None:
    assert len(SHOTS) >= 40
    assert {shot.layout for shot in SHOTS} == set(LAYOUTS)
    assert {shot.theme for shot in SHOTS} == set(THEMES)
    assert {shot.font for shot in SHOTS} == {"sans", "serif", "mono"}
    assert len({shot.size for shot in SHOTS}) >= 5
    assert sum(shot.jpeg is not None for shot in SHOTS) >= 10
    assert {shot.jpeg for shot in SHOTS if shot.jpeg} <= set(range(30, 61))
    assert len({shot.name for shot in SHOTS}) == len(SHOTS)


def words(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def test_every_text_is_a_real_error_from_the_knowledge_base(knowledge: KnowledgeService) -> None:
    entries = knowledge.current.knowledge.entries
    for shot in SHOTS:
        entry = entries[shot.entry]
        known = [words(text) for text in (*entry.errors, *entry.asks)]
        assert any(text in words(shot.pasted) for text in known), f"{shot.name}: no text of {shot.entry}"


async def decision(
    conversation: Conversation, *, text: str = "", image_text: str | None = None
) -> tuple[str | None, bool]:
    rules = effective_rules(Settings(_env_file=None))  # type: ignore[call-arg]
    reply = await conversation.decide(
        Incoming(text=text, author_id=1, channel_id=1, command=True, image_text=image_text), rules
    )
    assert isinstance(reply, Reply)
    return reply.entry_id, reply.confident


async def test_a_screenshot_is_answered_as_its_pasted_text(
    reader: ScreenshotReader, knowledge: KnowledgeService
) -> None:
    conversation = Conversation(lambda: knowledge.current, NothingRecorded(), Metrics())
    screenshots = Screenshots(reader, None, Metrics())
    read = await asyncio.gather(*(screenshots.read_image(shot.encoded()) for shot in SHOTS))
    differing = []
    for shot, image_text in zip(SHOTS, read, strict=True):
        pasted = await decision(conversation, text=shot.pasted)
        seen = await decision(conversation, image_text=image_text)
        if seen != pasted:
            differing.append(f"  {shot.name}: pasted {pasted}, screenshot {seen}, read {image_text!r}")
    same = 1 - len(differing) / len(SHOTS)
    assert same >= TARGET, f"{same:.1%} answered as pasted (target {TARGET:.0%}):\n" + "\n".join(differing)


async def test_the_reply_says_what_it_read(reader: ScreenshotReader, knowledge: KnowledgeService) -> None:
    conversation = Conversation(lambda: knowledge.current, NothingRecorded(), Metrics())
    image_text = await Screenshots(reader, None, Metrics()).read_image(SHOTS[0].encoded())
    reply = await conversation.decide(
        Incoming(text="", author_id=1, channel_id=1, command=True, image_text=image_text),
        effective_rules(Settings(_env_file=None)),  # type: ignore[call-arg]
    )
    assert isinstance(reply, Reply)
    assert reply.card.description.startswith("From your screenshot: *")
    assert "Cannot Get Mail — The connection to the server failed.*\n\n" in reply.card.description
    assert reply.entry_id == "ios-cannot-get-mail"
