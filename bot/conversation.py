"""The conversation policy: what the bot does with a message or a question, on every surface.

The Discord cogs and `guidenest chat` translate what they receive into an `Incoming`, ask `Conversation.decide`,
show the decision their own way and report back with `Conversation.delivered`. Every rule about when to answer,
stay silent, say "not sure", point back to an earlier answer and what to record lives here, so a decision the bot
makes in Discord, the console makes too. Nothing here imports Discord; state is in memory with an injectable clock.
"""

from __future__ import annotations

import re
import time
from collections import deque
from dataclasses import dataclass, replace
from enum import Enum
from typing import TYPE_CHECKING, Protocol

from bot.cards.answers import answer_card, not_sure_card, result_card, with_screenshot_text
from bot.cards.card import DESCRIPTION_LIMIT, Card, Tone, shorten
from bot.matching.normalize import strip_invisible
from bot.validation import BadInput

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Sequence

    from bot.knowledge.learned import GuildMatchers
    from bot.knowledge.model import Entry
    from bot.knowledge.service import Snapshot
    from bot.matching.matcher import MatchResult, Scored
    from bot.metrics import Metrics
    from bot.settings import Confidence, Settings
    from bot.storage import AnswerRecord, GuildConfig

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
    # Asked by command (/ask, `guidenest ask`): the best match whatever its score, marked confident or not.
    COMMAND = "command"


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
    # Where the bot answers unasked; empty in direct messages and on the command line.
    enabled_channels: frozenset[int] = frozenset()


def effective_rules(settings: Settings, config: GuildConfig | None = None) -> AnswerRules:
    """The rules for a guild with `config` (None: a direct message or the console, the bot's settings)."""
    if config is None:
        return AnswerRules(
            confidence=settings.default_confidence,
            cooldown_seconds=settings.answer_cooldown_seconds,
            user_limit=settings.user_rate_limit,
            user_window_seconds=settings.user_rate_window_seconds,
        )
    return AnswerRules(
        confidence=config.confidence or settings.default_confidence,
        cooldown_seconds=(
            settings.answer_cooldown_seconds
            if config.answer_cooldown_seconds is None
            else config.answer_cooldown_seconds
        ),
        user_limit=settings.user_rate_limit if config.user_rate_limit is None else config.user_rate_limit,
        user_window_seconds=settings.user_rate_window_seconds,
        enabled_channels=config.enabled_channels,
    )


class AnswerLimits(Protocol):
    """The per-channel cooldown on repeating an entry and the per-user answer limit, wherever they are kept:
    this process's memory (`Throttle`) or Redis, shared by every process (`bot.coordination`)."""

    async def cooling_answer(self, channel_id: int, entry_id: str) -> int | None:
        """The message id of the answer to `entry_id` in this channel while its cooldown runs (PENDING while
        it is being sent), else None."""

    async def claim_answer(self, channel_id: int, entry_id: str, cooldown_seconds: float) -> bool:
        """Start the cooldown for an answer about to be sent, unless one runs already (then False): of two
        copies of a question arriving at once, one is answered."""

    async def note_answer(self, channel_id: int, entry_id: str, message_id: int, cooldown_seconds: float) -> None:
        """The answer was sent as `message_id`: the cooldown runs from now and points at it."""

    async def forget_answer(self, channel_id: int, entry_id: str) -> None:
        """Drop a cooldown claimed for an answer that could not be sent."""

    async def user_has_room(self, user_id: int, limit: int, window_seconds: float) -> bool:
        """Whether `user_id` may get another answer now, counting nothing: a check before costly work."""

    async def allow_user(self, user_id: int, limit: int, window_seconds: float) -> bool:
        """Count one answer for `user_id` if they are under `limit` answers in the last `window_seconds`."""


class Throttle:
    """The answer limits in this process's memory; a restart resets them. With Redis configured they are
    kept there instead (and this is what a process falls back to while Redis is unreachable).

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

    async def cooling_answer(self, channel_id: int, entry_id: str) -> int | None:
        record = self._cooling.get((channel_id, entry_id))
        if record is None or record[0] <= self._clock():
            return None
        return record[1]

    async def claim_answer(self, channel_id: int, entry_id: str, cooldown_seconds: float) -> bool:
        if await self.cooling_answer(channel_id, entry_id) is not None:
            return False
        await self.note_answer(channel_id, entry_id, PENDING, cooldown_seconds)
        return True

    async def note_answer(self, channel_id: int, entry_id: str, message_id: int, cooldown_seconds: float) -> None:
        if cooldown_seconds > 0:
            self._cooling[(channel_id, entry_id)] = (self._clock() + cooldown_seconds, message_id)
        self._maybe_prune()

    async def forget_answer(self, channel_id: int, entry_id: str) -> None:
        self._cooling.pop((channel_id, entry_id), None)

    async def user_has_room(self, user_id: int, limit: int, window_seconds: float) -> bool:
        now = self._clock()
        return sum(1 for hit in self._user_hits.get(user_id, ()) if hit > now - window_seconds) < limit

    async def allow_user(self, user_id: int, limit: int, window_seconds: float) -> bool:
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


# --- The decisions ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Incoming:
    """A message or question as every surface can describe it."""

    text: str
    author_id: int
    channel_id: int
    guild_id: int | None = None
    # The channel or forum a thread belongs to: a thread in an enabled channel is enabled too.
    parent_id: int | None = None
    # A forum post's title: half of the question when this is the post's first message.
    title: str | None = None
    # Mentioned, or written to in a direct message.
    addressed: bool = False
    # A reply to one of the bot's own messages.
    replied_to_bot: bool = False
    # Asked by command (/ask, `guidenest ask`) rather than written in a channel.
    command: bool = False
    # Text read from the message's screenshots (bot/ocr), matched as if pasted after the text.
    image_text: str | None = None


def trigger_of(incoming: Incoming, rules: AnswerRules) -> Trigger:
    """Why `incoming` is considered (NONE: it is not). Surfaces ask before costly work, such as reading
    screenshots."""
    if incoming.command:
        return Trigger.COMMAND
    return trigger_for(
        enabled_channels=rules.enabled_channels,
        channel_id=incoming.channel_id,
        parent_id=incoming.parent_id,
        addressed=incoming.addressed,
        replied_to_bot=incoming.replied_to_bot,
    )


class ReplyKind(Enum):
    ANSWER = "answer"  # an entry, with 👍 / 👎 (by command also when not confident, marked "not sure")
    NOT_SURE = "not_sure"  # no confident match: what came closest, to pick from
    POINT_BACK = "point_back"  # the same answer was just posted in this channel
    NOTHING_TO_LOOK_UP = "nothing_to_look_up"  # addressed with nothing but a mention, spaces or empty code


class Silence(Enum):
    """Why the bot says nothing; the console shows it, Discord shows nothing."""

    NOT_CONSIDERED = "not in an enabled channel, not mentioned and not a reply to the bot"
    EMPTY = "there is nothing to look up in the message"
    UNSURE = "no answer is confident enough"
    UNSURE_REPLY = "no answer is confident enough, and most replies to an answer are thanks"
    COOLING = "the same answer was just posted here"
    RATE_LIMITED = "the author is over the answer limit"


@dataclass(frozen=True, slots=True)
class Silent:
    why: Silence
    # The match that was not good enough, if any: for the console and for tests.
    best: Scored | None = None


@dataclass(frozen=True, slots=True)
class Reply:
    kind: ReplyKind
    card: Card
    question: str
    # The entry shown, which the feedback buttons rate; None for "not sure" and "nothing to look up".
    entry_id: str | None = None
    confident: bool = False
    # What the person may switch to: the shown entry first, then the suggestions.
    alternatives: tuple[tuple[Entry, float | None], ...] = ()
    # Stored with the answer, so a 👎 after a restart can still offer them.
    suggestion_ids: tuple[str, ...] = ()
    # POINT_BACK: the message that holds the earlier answer.
    earlier_message_id: int | None = None
    # What the matcher found, for surfaces that show scores (`guidenest ask --json`).
    match: MatchResult | None = None


Decision = Reply | Silent


class Recorder(Protocol):
    """What the conversation stores: the bot's database (bot/storage), or nothing on the console."""

    async def record_miss(
        self,
        *,
        guild_id: int | None,
        channel_id: int | None,
        text: str,
        reason: str,
        entry_id: str | None,
        score: float | None,
    ) -> None: ...

    async def record_answer(
        self,
        *,
        message_id: int,
        guild_id: int | None,
        channel_id: int,
        entry_id: str,
        query: str,
        suggestions: Sequence[str],
    ) -> None: ...

    async def answer(self, message_id: int) -> AnswerRecord | None: ...

    async def record_vote(
        self, *, message_id: int, user_id: int, entry_id: str, helpful: bool, guild_id: int | None
    ) -> None: ...


class NothingRecorded:
    """The console's recorder: questions typed to try the bot are not a community's misses."""

    async def record_miss(
        self,
        *,
        guild_id: int | None,
        channel_id: int | None,
        text: str,
        reason: str,
        entry_id: str | None,
        score: float | None,
    ) -> None:
        del guild_id, channel_id, text, reason, entry_id, score

    async def record_answer(
        self,
        *,
        message_id: int,
        guild_id: int | None,
        channel_id: int,
        entry_id: str,
        query: str,
        suggestions: Sequence[str],
    ) -> None:
        del message_id, guild_id, channel_id, entry_id, query, suggestions

    async def answer(self, message_id: int) -> AnswerRecord | None:
        del message_id
        return None

    async def record_vote(
        self, *, message_id: int, user_id: int, entry_id: str, helpful: bool, guild_id: int | None
    ) -> None:
        del message_id, user_id, entry_id, helpful, guild_id


# The replies whose card says what was read from a screenshot: the ones that answer the question.
_SAYS_WHAT_IT_READ = frozenset({ReplyKind.ANSWER, ReplyKind.NOT_SURE})

MAX_OTHERS = 25  # what a pick list holds (Discord's select menus take 25)
PENDING = 0  # the message id of an answer being sent right now

HELLO_TITLE = "Hi! How can I help?"
HELLO_TEXT = (
    "Ask me about setting up email: paste the error your mail program shows "
    "(`535 5.7.8 Username and Password not accepted`), or ask which port or security to use "
    "(`imap port`, `smtp 587 or 465?`). `/help` lists my commands."
)
NOTHING_TO_LOOK_UP_TITLE = "Nothing to look up"
NOTHING_TO_LOOK_UP_TEXT = (
    "There was nothing to look up in that question (only spaces, invisible characters, empty code or mentions). "
    "Type your question, or paste the exact error your mail program shows."
)


class VoteResult(Enum):
    THANKS = "thanks"  # 👍 stored
    FORGOTTEN = "forgotten"  # the answer is no longer known: nothing to rate
    NOTED = "noted"  # 👎 stored, nothing else to offer
    OTHERS = "others"  # 👎 stored, and other entries offered


@dataclass(frozen=True, slots=True)
class VoteOutcome:
    result: VoteResult
    card: Card
    others: tuple[tuple[Entry, float | None], ...] = ()


class Conversation:
    """The bot's side of every exchange; one per process (the Discord bot) or per console session."""

    def __init__(
        self,
        knowledge: Callable[[], Snapshot],
        recorder: Recorder,
        metrics: Metrics,
        *,
        clock: Callable[[], float] = time.monotonic,
        guild_matchers: GuildMatchers | None = None,
        throttle: AnswerLimits | None = None,
    ) -> None:
        # A callable, so that each question is answered from the knowledge in use when it arrives (/kb reload).
        self._knowledge = knowledge
        # Servers whose moderators taught the bot answer with their own matcher (None: the console, no servers).
        self._guild_matchers = guild_matchers
        self._recorder = recorder
        self._metrics = metrics
        self.throttle: AnswerLimits = throttle if throttle is not None else Throttle(clock)

    async def decide(self, incoming: Incoming, rules: AnswerRules) -> Decision:
        """What to do with `incoming`: a reply to send (then call `delivered`), or silence. Records misses."""
        decision = await self._decide(incoming, rules)
        if incoming.image_text and isinstance(decision, Reply) and decision.kind in _SAYS_WHAT_IT_READ:
            decision = replace(decision, card=with_screenshot_text(decision.card, incoming.image_text))
        return decision

    async def _decide(self, incoming: Incoming, rules: AnswerRules) -> Decision:
        trigger = trigger_of(incoming, rules)
        if trigger is Trigger.NONE:
            return Silent(Silence.NOT_CONSIDERED)
        if trigger is not Trigger.COMMAND:
            self._metrics.inc("messages_seen")
        raw = incoming.text if incoming.title is None else f"{incoming.title}\n{incoming.text}"
        if incoming.image_text:
            raw = f"{raw}\n{incoming.image_text}"
        question = clean_question(raw)
        if not question:
            return self._nothing_to_look_up(trigger)
        snapshot = self._knowledge()
        matcher = (
            snapshot.matcher
            if self._guild_matchers is None
            else await self._guild_matchers.matcher(snapshot, incoming.guild_id)
        )
        result = matcher.match(question, level=rules.confidence)
        if trigger is Trigger.COMMAND:
            return await self._by_command(incoming, question, result)
        if not result.confident or result.best is None:
            return await self._unsure(incoming, trigger, rules, question, result)
        return await self._confident(incoming, trigger, rules, question, result, best=result.best)

    def _nothing_to_look_up(self, trigger: Trigger) -> Decision:
        if trigger is Trigger.COMMAND:
            card = Card(title=NOTHING_TO_LOOK_UP_TITLE, description=NOTHING_TO_LOOK_UP_TEXT, tone=Tone.ERROR)
        elif trigger is Trigger.ADDRESSED:
            card = Card(title=HELLO_TITLE, description=HELLO_TEXT)
        else:
            return Silent(Silence.EMPTY)
        return Reply(ReplyKind.NOTHING_TO_LOOK_UP, card, question="")

    async def _record_miss(self, incoming: Incoming, question: str, result: MatchResult) -> None:
        best = result.best
        await self._recorder.record_miss(
            guild_id=incoming.guild_id,
            channel_id=incoming.channel_id,
            text=question,
            reason="no_match",
            entry_id=best.entry.id if best else None,
            score=best.score if best else None,
        )

    async def _by_command(self, incoming: Incoming, question: str, result: MatchResult) -> Reply:
        """Asked by command: the best match whatever its score (marked "not sure"), with the switcher."""
        best = result.best
        if result.confident:
            self._metrics.inc("answers")
        else:
            self._metrics.inc("abstentions")
            await self._record_miss(incoming, question, result)
        return Reply(
            ReplyKind.ANSWER if best is not None else ReplyKind.NOT_SURE,
            result_card(result),
            question,
            entry_id=best.entry.id if best is not None else None,
            confident=result.confident,
            alternatives=_alternatives(result),
            suggestion_ids=tuple(s.entry.id for s in result.suggestions),
            match=result,
        )

    async def _unsure(
        self, incoming: Incoming, trigger: Trigger, rules: AnswerRules, question: str, result: MatchResult
    ) -> Decision:
        self._metrics.inc("abstentions")
        if trigger is Trigger.REPLY:
            return Silent(Silence.UNSURE_REPLY, result.best)  # most replies to an answer are thanks, not questions
        await self._record_miss(incoming, question, result)
        if trigger is not Trigger.ADDRESSED:
            return Silent(Silence.UNSURE, result.best)
        if not await self.throttle.allow_user(incoming.author_id, rules.user_limit, rules.user_window_seconds):
            return Silent(Silence.RATE_LIMITED, result.best)
        return Reply(
            ReplyKind.NOT_SURE, not_sure_card(result), question, alternatives=_alternatives(result), match=result
        )

    async def _confident(
        self,
        incoming: Incoming,
        trigger: Trigger,
        rules: AnswerRules,
        question: str,
        result: MatchResult,
        *,
        best: Scored,
    ) -> Decision:
        entry = best.entry
        earlier = await self.throttle.cooling_answer(incoming.channel_id, entry.id)
        if earlier is not None:
            # The same answer was just posted here; point at it when asked directly, otherwise stay quiet.
            if (
                earlier != PENDING
                and trigger is Trigger.ADDRESSED
                and await self.throttle.allow_user(incoming.author_id, rules.user_limit, rules.user_window_seconds)
            ):
                card = Card(title="I answered that just above", description=shorten(entry.title, DESCRIPTION_LIMIT))
                return Reply(
                    ReplyKind.POINT_BACK, card, question, entry_id=entry.id, confident=True, earlier_message_id=earlier
                )
            return Silent(Silence.COOLING, best)
        if not await self.throttle.allow_user(incoming.author_id, rules.user_limit, rules.user_window_seconds):
            return Silent(Silence.RATE_LIMITED, best)
        # Claim the cooldown before sending, so the same question posted twice at once is answered once.
        if not await self.throttle.claim_answer(incoming.channel_id, entry.id, rules.cooldown_seconds):
            return Silent(Silence.COOLING, best)
        return Reply(
            ReplyKind.ANSWER,
            answer_card(best, confident=True),
            question,
            entry_id=entry.id,
            confident=True,
            suggestion_ids=tuple(s.entry.id for s in result.suggestions),
            match=result,
        )

    async def delivered(
        self, incoming: Incoming, reply: Reply, rules: AnswerRules, message_id: int | None
    ) -> None:
        """After the surface sent `reply` as message `message_id` (None: it could not be sent, or has no id)."""
        if reply.kind is not ReplyKind.ANSWER or reply.entry_id is None:
            return
        passive = not incoming.command
        if passive and message_id is None:
            await self.throttle.forget_answer(incoming.channel_id, reply.entry_id)
            return
        if message_id is None:
            return  # by command: an answer whose message id Discord did not give cannot be rated later
        if passive:
            await self.throttle.note_answer(incoming.channel_id, reply.entry_id, message_id, rules.cooldown_seconds)
            self._metrics.inc("answers")
        await self._recorder.record_answer(
            message_id=message_id,
            guild_id=incoming.guild_id,
            channel_id=incoming.channel_id,
            entry_id=reply.entry_id,
            query=reply.question,
            suggestions=reply.suggestion_ids,
        )

    async def vote(
        self,
        *,
        message_id: int,
        user_id: int,
        guild_id: int | None,
        channel_id: int | None,
        helpful: bool,
        entry_id: str | None,
        offered_ids: Sequence[str] = (),
    ) -> VoteOutcome:
        """A 👍 or 👎 on the answer in `message_id`; `entry_id` is what the button names (None: look it up),
        `offered_ids` the entries its switcher offers. Raises BadInput for a button naming an answer never given."""
        record = await self._recorder.answer(message_id)
        entry_id = entry_id or (record.entry_id if record is not None else None)
        if entry_id is None:
            forgotten = Card(title="Can't rate this", description="I no longer know which answer this was.")
            return VoteOutcome(VoteResult.FORGOTTEN, forgotten)
        knowledge = self._knowledge().knowledge
        entry = knowledge.entry(entry_id)
        # A button's id is whatever the client sends: an id that is neither an entry nor the answer stored for
        # this message (an entry removed since) was never shown, so nothing is stored for it.
        if entry is None and (record is None or record.entry_id != entry_id):
            raise BadInput("That button names an answer I never gave, so there is nothing to rate.")
        await self._recorder.record_vote(
            message_id=message_id, user_id=user_id, entry_id=entry_id, helpful=helpful, guild_id=guild_id
        )
        self._metrics.inc("votes_helpful" if helpful else "votes_not_helpful")
        if helpful:
            thanks = Card(title="Thanks!", description="Glad it helped. Your vote is noted.", tone=Tone.ANSWER)
            return VoteOutcome(VoteResult.THANKS, thanks)
        # An answer past the retention period has forgotten its question; the entry's title stands in.
        question = record.query if record is not None and record.query else (entry.title if entry else entry_id)
        await self._recorder.record_miss(
            guild_id=guild_id, channel_id=channel_id, text=question, reason="downvoted", entry_id=entry_id, score=None
        )
        # The other suggestions for this question (the switcher's, else the stored ones); failing those,
        # the entries the answer points to.
        candidate_ids = [i for i in offered_ids if i != entry_id]
        if not candidate_ids and record is not None:
            candidate_ids = [i for i in record.suggestions if i != entry_id]
        if not candidate_ids and entry is not None:
            candidate_ids = list(entry.related)
        others = tuple((e, None) for i in candidate_ids if (e := knowledge.entry(i)) is not None)[:MAX_OTHERS]
        if not others:
            return VoteOutcome(
                VoteResult.NOTED,
                Card(
                    title="Thanks for telling me",
                    description="Noted for the people who maintain my answers. Try `/ask` with the exact error "
                    "text, or ask in the help channel.",
                    tone=Tone.UNSURE,
                ),
            )
        listing = "\n".join(f"• **{e.title}**" for e, _ in others)
        card = Card(
            title="Thanks for telling me",
            description=shorten(
                "Noted for the people who maintain my answers. One of these may fit better — "
                "pick one to read it here:\n" + listing,
                DESCRIPTION_LIMIT,
            ),
            tone=Tone.UNSURE,
        )
        return VoteOutcome(VoteResult.OTHERS, card, others)


def _alternatives(result: MatchResult) -> tuple[tuple[Entry, float | None], ...]:
    candidates = ([] if result.best is None else [result.best]) + list(result.suggestions)
    return tuple((s.entry, s.score) for s in candidates)
