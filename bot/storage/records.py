"""What the storage hands back: plain frozen records, timestamps in UTC."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import datetime

    from bot.settings import Confidence


@dataclass(frozen=True, slots=True)
class GuildConfig:
    """A guild's settings. `None` means "use the bot-wide setting" (see bot/settings.py)."""

    guild_id: int
    enabled_channels: frozenset[int] = field(default_factory=frozenset)
    confidence: Confidence | None = None
    answer_cooldown_seconds: float | None = None
    user_rate_limit: int | None = None
    moderator_role_id: int | None = None
    mailsettings_public: bool = False
    solved_tag: str | None = None  # the forum tag (by name) applied when a post's author votes 👍 on the bot's answer

    def channel_enabled(self, channel_id: int) -> bool:
        return channel_id in self.enabled_channels


@dataclass(frozen=True, slots=True)
class AnswerRecord:
    """An answer the bot posted, so its buttons still know what they belong to after a restart."""

    message_id: int
    guild_id: int | None
    channel_id: int
    entry_id: str
    query: str
    suggestions: tuple[str, ...]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class EntryFeedback:
    entry_id: str
    helpful: int
    not_helpful: int

    @property
    def votes(self) -> int:
        return self.helpful + self.not_helpful


@dataclass(frozen=True, slots=True)
class MissRow:
    """Misses that are the same text apart from case, spacing and punctuation, counted.

    `text`, `reason`, `entry_id` and `score` come from the latest of them.
    """

    text: str
    count: int
    last_seen: datetime
    reason: str
    entry_id: str | None
    score: float | None
    # The latest miss's row id, which names the group in the "Teach…" menu of /kb stats.
    latest_id: int | None = None


@dataclass(frozen=True, slots=True)
class LearnedPhrasing:
    """A question a moderator taught the bot to answer with `entry_id` in one guild."""

    id: int
    guild_id: int
    entry_id: str
    text: str
    taught_by: int  # the moderator's user id
    taught_at: datetime


@dataclass(frozen=True, slots=True)
class ProbeAuditRow:
    at: datetime
    user_id: int | None
    guild_id: int | None
    action: str
    target: str
    address: str | None
    outcome: str
    duration_ms: int
