from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from bot.knowledge.service import KnowledgeService
from bot.ocr.image import ImageLimits
from bot.ocr.reader import DEBIAN_TESSDATA, ScreenshotReader
from bot.settings import DEFAULT_KNOWLEDGE_DIR

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

LIMITS = ImageLimits(max_bytes=2_000_000, max_pixels=25_000_000)


@pytest.fixture
async def reader() -> AsyncIterator[ScreenshotReader]:
    """The real reader on Debian's English data, two workers, 10 s per image."""
    opened = ScreenshotReader(DEBIAN_TESSDATA, LIMITS, seconds=10, concurrency=2)
    yield opened
    await opened.close()


@pytest.fixture(scope="session")
def knowledge() -> KnowledgeService:
    """The shipped knowledge, loaded once."""
    return KnowledgeService(DEFAULT_KNOWLEDGE_DIR)
