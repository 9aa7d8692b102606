"""The knowledge in use: a validated knowledge base and the matcher index built from it, swapped together.

Readers take `service.current` once per request and use that snapshot throughout, so a reload in the middle of
an answer never mixes an old entry with a new index.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.knowledge.loader import KnowledgeError, Problem, check_knowledge
from bot.matching.matcher import Matcher

if TYPE_CHECKING:
    from pathlib import Path

    from bot.knowledge.model import KnowledgeBase

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Snapshot:
    knowledge: KnowledgeBase
    matcher: Matcher


@dataclass(frozen=True, slots=True)
class ReloadReport:
    entries: int
    warnings: list[Problem]


class KnowledgeService:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.current, self.warnings = self._build()

    def _build(self) -> tuple[Snapshot, list[Problem]]:
        knowledge, problems = check_knowledge(self.root)
        if knowledge is None:
            raise KnowledgeError(problems, self.root)
        return Snapshot(knowledge, Matcher(knowledge)), problems

    def reload(self) -> ReloadReport:
        """Load `root` again; on any error raise KnowledgeError and keep serving the old knowledge."""
        snapshot, warnings = self._build()
        # One assignment of a built snapshot: readers see the old one or the new, never a mix.
        self.current, self.warnings = snapshot, warnings
        log.info("knowledge reloaded: %d entries", len(snapshot.knowledge.entries))
        return ReloadReport(len(snapshot.knowledge.entries), warnings)
