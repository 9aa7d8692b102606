"""Links to the tests' real Redis, closed after each test."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from bot.coordination.link import RedisLink
from bot.metrics import Metrics

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

# Short, so that an outage test sees the recovery within a fraction of a second.
RETRY_SECONDS = 0.1



@pytest.fixture
async def links() -> AsyncIterator[Callable[..., RedisLink]]:
    """`links(url)` → a new RedisLink (one per simulated process) (its own Metrics unless one is given)."""
    opened: list[RedisLink] = []

    def open_link(url: str, metrics: Metrics | None = None) -> RedisLink:
        link = RedisLink.from_url(url, metrics or Metrics(), retry_seconds=RETRY_SECONDS)
        opened.append(link)
        return link

    yield open_link
    for link in opened:
        await link.close()
