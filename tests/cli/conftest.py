from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

from tests.knowledge.conftest import write_kb  # noqa: F401  (the fixture, shared with the knowledge tests)

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture(autouse=True)
def isolated_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The CLI reads only what a test sets: no .env, no variables from the machine."""
    for name in list(os.environ):
        if name.startswith("GUIDENEST_") or name == "DISCORD_TOKEN":
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
