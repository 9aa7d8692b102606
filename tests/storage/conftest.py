from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from bot.storage import Storage

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path


class FakeClock:
    """A clock the test moves by hand, so retention and ordering do not depend on the wall clock."""

    def __init__(self) -> None:
        self.now = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "guidenest.sqlite3"


@pytest.fixture
async def storage(db_path: Path, clock: FakeClock) -> AsyncIterator[Storage]:
    opened = await Storage.open(db_path, clock=clock)
    yield opened
    await opened.close()
