from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from bot.knowledge.loader import load_knowledge
from bot.matching.matcher import Matcher

if TYPE_CHECKING:
    from bot.knowledge.model import KnowledgeBase

FIXTURE_KB = Path(__file__).parent / "fixtures" / "kb"
SHIPPED_KB = Path(__file__).resolve().parents[2] / "knowledge"


@pytest.fixture(scope="session")
def fixture_kb() -> KnowledgeBase:
    """Ten small entries written for these tests, with a ports and a providers table."""
    return load_knowledge(FIXTURE_KB)


@pytest.fixture(scope="session")
def matcher(fixture_kb: KnowledgeBase) -> Matcher:
    return Matcher(fixture_kb)


@pytest.fixture(scope="session")
def shipped_kb() -> KnowledgeBase:
    """The knowledge base the bot ships with (knowledge/ at the repository root)."""
    return load_knowledge(SHIPPED_KB)


@pytest.fixture(scope="session")
def shipped_matcher(shipped_kb: KnowledgeBase) -> Matcher:
    return Matcher(shipped_kb)
