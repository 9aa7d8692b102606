"""When the bot answers unasked, and what text it matches: the cogs' decisions, kept free of Discord.

Everything here is pure or keeps its state in memory with an injectable clock: tested without a gateway.
"""

from __future__ import annotations

import re
import time
from collections import deque
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from bot.matching.normalize import strip_invisible
from bot.settings import Confidence, Settings

if TYPE_CHECKING:
    from collections.abc import Callable, Collection

# User, role and channel mentions: they name who is asked, not what.
_MENTION = re.compile(r"<@[!&]?\d+>|<#\d+>")
# A fenced code block, optionally with a language tag on its first line; the error inside is what matters.
_CODE_FENCE = re.compile(r"```(?:[A-Za-z0-9_+-]*\n)?(.*?)```", re.DOTALL)
_INLINE_CODE = re.compile(r"`([^`]*)`")
_SPACES = re.compile(r"\s+")


def clean_question(text: str) -> str:
    """The part of a message worth matching: mentions removed, code unwrapped, invisible characters dropped.

    Returns "" when nothing is left (a bare mention, only emoji spacing, an empty code block).
    """
    text = strip_invisible(text)  # the matcher's own list, so "nothing left" means the same to both
    text = _MENTION.sub(" ", text)
    text = _CODE_FENCE.sub(lambda m: f" {m.group(1)} ", text)
    text = _INLINE_CODE.sub(lambda m: m.group(1), text)
    # No length cut here: the matcher bounds its own work on long pastes (head + error-looking lines).
    return _SPACES.sub(" ", text).strip()


class Trigger(Enum):
    """Why a message is considered at all."""

    # Chatter elsewhere: never looked at.
    NONE = "none"
    # A reply to one of the bot's answers ("thanks!", or a follow-up error): answer when confident.
    REPLY = "reply"
    # Posted in an enabled channel, thread or forum: answer when confident, else note a miss.
    CHANNEL = "channel"
    # The bot was mentioned, or written to in a direct message: always reply, "not sure" when unsure.
    ADDRESSED = "addressed"


def trigger_for(
    *,
    enabled_channels: Collection[int],
    channel_id: int,
    parent_id: int | None,
    addressed: bool,
    replied_to_bot: bool = False,
) -> Trigger:
    """Addressed wins over an enabled channel, which wins over a reply; a thread counts as enabled when its
    channel or forum is."""
    if addressed:
        return Trigger.ADDRESSED
    if channel_id in enabled_channels or (parent_id is not None and parent_id in enabled_channels):
        return Trigger.CHANNEL
    if replied_to_bot:
        return Trigger.REPLY
    return Trigger.NONE


@dataclass(frozen=True, slots=True)
class AnswerRules:
    """A guild's answering rules: its own settings where it has them, the bot's settings otherwise."""

    confidence: Confidence
    cooldown_seconds: float
    user_limit: int
    user_window_seconds: float


def effective_rules(
    settings: Settings,
    *,
    confidence: str | None = None,
    cooldown_seconds: float | None = None,
    user_limit: int | None = None,
) -> AnswerRules:
    return AnswerRules(
        confidence=Confidence(confidence) if confidence else settings.default_confidence,
        cooldown_seconds=settings.answer_cooldown_seconds if cooldown_seconds is None else cooldown_seconds,
        user_limit=settings.user_rate_limit if user_limit is None else user_limit,
        user_window_seconds=settings.user_rate_window_seconds,
    )


class Throttle:
    """The per-channel cooldown on repeating an entry, and the per-user rate limit; a restart resets both.

    Old records are dropped as new ones come in, so memory stays bounded by recent activity.
    """

    _PRUNE_EVERY = 256

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        # (channel, entry) -> (until, message id of the answer that started the cooldown)
        self._cooling: dict[tuple[int, str], tuple[float, int]] = {}
        self._user_hits: dict[int, deque[float]] = {}
        # The longest rate window asked about so far: pruning must keep every hit that may still count.
        self._longest_window = 0.0
        self._since_prune = 0

    def cooling_answer(self, channel_id: int, entry_id: str) -> int | None:
        """The message id of the answer to `entry_id` in this channel while its cooldown runs, else None."""
        record = self._cooling.get((channel_id, entry_id))
        if record is None or record[0] <= self._clock():
            return None
        return record[1]

    def note_answer(self, channel_id: int, entry_id: str, message_id: int, cooldown_seconds: float) -> None:
        if cooldown_seconds > 0:
            self._cooling[(channel_id, entry_id)] = (self._clock() + cooldown_seconds, message_id)
        self._maybe_prune()

    def forget_answer(self, channel_id: int, entry_id: str) -> None:
        """Drop a cooldown claimed for an answer that could not be sent."""
        self._cooling.pop((channel_id, entry_id), None)

    def allow_user(self, user_id: int, limit: int, window_seconds: float) -> bool:
        """Count one answer for `user_id` if they are under `limit` answers in the last `window_seconds`."""
        now = self._clock()
        hits = self._user_hits.setdefault(user_id, deque())
        while hits and hits[0] <= now - window_seconds:
            hits.popleft()
        if len(hits) >= limit:
            return False
        hits.append(now)
        self._longest_window = max(self._longest_window, window_seconds)
        self._maybe_prune()
        return True

    def _maybe_prune(self) -> None:
        self._since_prune += 1
        if self._since_prune < self._PRUNE_EVERY:
            return
        self._since_prune = 0
        now = self._clock()
        self._cooling = {key: value for key, value in self._cooling.items() if value[0] > now}
        self._user_hits = {
            user: hits for user, hits in self._user_hits.items() if hits and hits[-1] > now - self._longest_window
        }
