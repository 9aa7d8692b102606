"""The conversation policy without Discord: what is matched, when the bot speaks or stays silent, cooldowns,
rate limits, what is recorded, and votes."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from bot.conversation import (
    HELLO_TITLE,
    NOTHING_TO_LOOK_UP_TITLE,
    PENDING,
    AnswerRules,
    Conversation,
    Incoming,
    Reply,
    ReplyKind,
    Silence,
    Silent,
    Throttle,
    Trigger,
    VoteResult,
    clean_question,
    effective_rules,
    trigger_for,
)
from bot.knowledge.loader import load_knowledge
from bot.knowledge.service import Snapshot
from bot.matching.matcher import Matcher
from bot.metrics import Metrics
from bot.settings import Confidence, Settings
from bot.storage import GuildConfig, Storage
from bot.validation import BadInput

if TYPE_CHECKING:
    from collections.abc import AsyncIterator


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("<@123456> which port for imap?", "which port for imap?"),
        ("<@!42> <@&7> see <#99> smtp", "see smtp"),
        ("```\n535 5.7.8 Password not accepted\n```", "535 5.7.8 Password not accepted"),
        ("```text\n0x800CCC0E\n```", "0x800CCC0E"),
        ("I get `WRONG_VERSION_NUMBER` now", "I get WRONG_VERSION_NUMBER now"),
        ("sm\u200btp\u200d 5\u206087\ufeff", "smtp 587"),
        ("\u2066smtp\u2069 \u061c587", "smtp 587"),  # isolates and the Arabic letter mark, as the matcher drops them
        ("  many\n\n  spaces\there ", "many spaces here"),
    ],
)
def test_clean_question_keeps_what_is_asked(raw: str, expected: str) -> None:
    assert clean_question(raw) == expected


@pytest.mark.parametrize("raw", ["", "   ", "<@123>", "\u200b\u200b", "``````", "```\n```", "<@1> \u2060"])
def test_clean_question_is_empty_when_nothing_is_asked(raw: str) -> None:
    assert clean_question(raw) == ""


def test_clean_question_keeps_a_long_paste_whole_for_the_matcher() -> None:
    # The error at the end of a long paste must reach the matcher, which bounds its own work.
    text = "log line " * 1000 + "535 5.7.8 Username and Password not accepted"
    assert clean_question(text) == text.strip()


def trigger(
    enabled: set[int], channel: int, parent: int | None = None, *, addressed: bool = False
) -> Trigger:
    return trigger_for(enabled_channels=enabled, channel_id=channel, parent_id=parent, addressed=addressed)


def test_trigger_addressed_wins_anywhere() -> None:
    assert trigger(set(), 1, addressed=True) is Trigger.ADDRESSED
    assert trigger({1}, 1, addressed=True) is Trigger.ADDRESSED


def test_trigger_enabled_channel_and_its_threads() -> None:
    assert trigger({10}, 10) is Trigger.CHANNEL
    # A thread of an enabled channel or forum (a forum post is a thread whose parent is the forum).
    assert trigger({10}, 55, parent=10) is Trigger.CHANNEL
    # A thread enabled on its own.
    assert trigger({55}, 55, parent=10) is Trigger.CHANNEL


def test_trigger_reply_to_the_bot_ranks_below_an_enabled_channel() -> None:
    def replied(enabled: set[int]) -> Trigger:
        return trigger_for(
            enabled_channels=enabled, channel_id=1, parent_id=None, addressed=False, replied_to_bot=True
        )

    assert replied(set()) is Trigger.REPLY
    assert replied({1}) is Trigger.CHANNEL


def test_trigger_none_elsewhere_and_by_default() -> None:
    assert trigger(set(), 10) is Trigger.NONE
    assert trigger({10}, 11, parent=12) is Trigger.NONE


def test_effective_rules_fall_back_to_settings() -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        default_confidence=Confidence.STRICT,
        answer_cooldown_seconds=30,
        user_rate_limit=3,
        user_rate_window_seconds=90,
    )
    rules = effective_rules(settings)
    assert (rules.confidence, rules.cooldown_seconds, rules.user_limit, rules.user_window_seconds) == (
        Confidence.STRICT,
        30,
        3,
        90,
    )
    config = GuildConfig(
        guild_id=1,
        enabled_channels=frozenset({5}),
        confidence=Confidence.RELAXED,
        answer_cooldown_seconds=0,
        user_rate_limit=10,
    )
    own = effective_rules(settings, config)
    assert (own.confidence, own.cooldown_seconds, own.user_limit, own.enabled_channels) == (
        Confidence.RELAXED,
        0,
        10,
        frozenset({5}),
    )
    # A guild that set nothing of its own answers by the bot's settings, in its enabled channels.
    bare = effective_rules(settings, GuildConfig(guild_id=2, enabled_channels=frozenset({9})))
    assert (bare.confidence, bare.cooldown_seconds, bare.user_limit) == (Confidence.STRICT, 30, 3)


async def test_cooldown_per_channel_and_entry() -> None:
    clock = FakeClock()
    throttle = Throttle(clock)
    assert await throttle.cooling_answer(1, "imap-ports") is None
    await throttle.note_answer(1, "imap-ports", message_id=500, cooldown_seconds=60)
    assert await throttle.cooling_answer(1, "imap-ports") == 500
    assert await throttle.cooling_answer(2, "imap-ports") is None  # another channel
    assert await throttle.cooling_answer(1, "pop3-ports") is None  # another entry
    clock.now += 59.9
    assert await throttle.cooling_answer(1, "imap-ports") == 500
    clock.now += 0.2
    assert await throttle.cooling_answer(1, "imap-ports") is None


async def test_forget_answer_lifts_the_cooldown() -> None:
    throttle = Throttle(FakeClock())
    await throttle.note_answer(1, "imap-ports", message_id=0, cooldown_seconds=60)
    await throttle.forget_answer(1, "imap-ports")
    await throttle.forget_answer(1, "never-noted")
    assert await throttle.cooling_answer(1, "imap-ports") is None


async def test_zero_cooldown_never_cools() -> None:
    throttle = Throttle(FakeClock())
    await throttle.note_answer(1, "imap-ports", message_id=500, cooldown_seconds=0)
    assert await throttle.cooling_answer(1, "imap-ports") is None


async def test_user_rate_limit_is_a_sliding_window() -> None:
    clock = FakeClock()
    throttle = Throttle(clock)
    assert [await throttle.allow_user(7, limit=2, window_seconds=60) for _ in range(3)] == [True, True, False]
    assert await throttle.allow_user(8, limit=2, window_seconds=60)  # someone else is not affected
    clock.now += 30
    assert not await throttle.allow_user(7, limit=2, window_seconds=60)
    clock.now += 30.1  # the first two fall out of the window
    assert await throttle.allow_user(7, limit=2, window_seconds=60)


async def test_room_for_a_user_is_checked_without_counting() -> None:
    clock = FakeClock()
    throttle = Throttle(clock)
    assert all([await throttle.user_has_room(7, limit=1, window_seconds=60) for _ in range(5)])  # asking counts nothing
    assert await throttle.allow_user(7, limit=1, window_seconds=60)
    assert not await throttle.user_has_room(7, limit=1, window_seconds=60)
    clock.now += 61
    assert await throttle.user_has_room(7, limit=1, window_seconds=60)


async def test_pruning_keeps_hits_inside_a_long_rate_window() -> None:
    # Answers noted elsewhere trigger a prune; a user's hit from over an hour ago still counts in a 2 h window.
    clock = FakeClock()
    throttle = Throttle(clock)
    assert await throttle.allow_user(7, limit=1, window_seconds=7200)
    clock.now += 4000
    for index in range(Throttle._PRUNE_EVERY):
        await throttle.note_answer(1, f"entry-{index}", message_id=index, cooldown_seconds=0)
    assert not await throttle.allow_user(7, limit=1, window_seconds=7200)


async def test_throttle_forgets_old_records() -> None:
    clock = FakeClock()
    throttle = Throttle(clock)
    for user in range(300):
        await throttle.allow_user(user, limit=1, window_seconds=10)
        await throttle.note_answer(user, "e", message_id=user, cooldown_seconds=10)
    clock.now += 3600
    for user in range(300, 600):
        await throttle.allow_user(user, limit=1, window_seconds=10)
        await throttle.note_answer(user, "e", message_id=user, cooldown_seconds=10)
    assert len(throttle._user_hits) < 600
    assert len(throttle._cooling) < 600
    assert await throttle.cooling_answer(599, "e") == 599  # recent records stay


async def test_a_claim_waits_for_the_cooldown_to_end() -> None:
    clock = FakeClock()
    throttle = Throttle(clock)
    assert await throttle.claim_answer(1, "imap-ports", cooldown_seconds=60)
    assert not await throttle.claim_answer(1, "imap-ports", cooldown_seconds=60)  # the second copy loses
    assert await throttle.cooling_answer(1, "imap-ports") == PENDING
    assert await throttle.claim_answer(1, "pop3-ports", cooldown_seconds=60)
    clock.now += 61
    assert await throttle.claim_answer(1, "imap-ports", cooldown_seconds=60)
    assert await throttle.claim_answer(2, "smtp-ports", cooldown_seconds=0)
    assert await throttle.claim_answer(2, "smtp-ports", cooldown_seconds=0)  # no cooldown: nothing to wait for


# --- The conversation service: every decision, on the shipped knowledge and a real SQLite database ------------

SHIPPED_KB = Path(__file__).resolve().parents[1] / "knowledge"
CONFIDENT = "535 5.7.8 Username and Password not accepted"  # auth-failed-535, confidently
UNSURE = "email not working"  # a best match, not a confident one
CHANNEL, OTHER_CHANNEL, GUILD, AUTHOR = 10, 11, 1, 7


@pytest.fixture(scope="module")
def shipped() -> Snapshot:
    knowledge = load_knowledge(SHIPPED_KB)
    return Snapshot(knowledge, Matcher(knowledge))


@pytest.fixture
async def storage(tmp_path: Path) -> AsyncIterator[Storage]:
    opened = await Storage.open(tmp_path / "guidenest.sqlite3")
    yield opened
    await opened.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
def conversation(shipped: Snapshot, storage: Storage, metrics: Metrics, clock: FakeClock) -> Conversation:
    return Conversation(lambda: shipped, storage, metrics, clock=clock)


RULES = AnswerRules(
    confidence=Confidence.NORMAL,
    cooldown_seconds=60,
    user_limit=5,
    user_window_seconds=60,
    enabled_channels=frozenset({CHANNEL}),
)


def said(text: str, *, channel: int = CHANNEL, author: int = AUTHOR, **how: Any) -> Incoming:
    return Incoming(text=text, author_id=author, channel_id=channel, guild_id=GUILD, **how)


async def test_chatter_elsewhere_is_not_even_read(
    conversation: Conversation, storage: Storage, metrics: Metrics
) -> None:
    decision = await conversation.decide(said(CONFIDENT, channel=OTHER_CHANNEL), RULES)
    assert decision == Silent(Silence.NOT_CONSIDERED)
    assert metrics.messages_seen.value() == 0
    assert await storage.top_misses(None) == []


async def test_a_confident_answer_is_recorded_once_sent_and_then_cools(
    conversation: Conversation, storage: Storage, metrics: Metrics, clock: FakeClock
) -> None:
    first = await conversation.decide(said(CONFIDENT), RULES)
    assert isinstance(first, Reply)
    assert (first.kind, first.entry_id, first.confident) == (ReplyKind.ANSWER, "auth-failed-535", True)
    assert first.card.entry_id == "auth-failed-535"
    assert metrics.answers.value() == 0  # counted once it is sent
    await conversation.delivered(said(CONFIDENT), first, RULES, message_id=500)
    record = await storage.answer(500)
    assert record is not None
    assert (record.entry_id, record.query, record.channel_id) == ("auth-failed-535", CONFIDENT, CHANNEL)
    assert metrics.answers.value() == 1

    # The same question again in the channel: quiet; asked directly, a pointer to the answer just given.
    again = await conversation.decide(said(CONFIDENT, author=8), RULES)
    assert isinstance(again, Silent)
    assert again.why is Silence.COOLING
    pointer = await conversation.decide(said(CONFIDENT, author=8, addressed=True), RULES)
    assert isinstance(pointer, Reply)
    assert (pointer.kind, pointer.earlier_message_id) == (ReplyKind.POINT_BACK, 500)
    # Another channel is not cooling, and the cooldown ends.
    elsewhere = await conversation.decide(said(CONFIDENT, channel=OTHER_CHANNEL, addressed=True), RULES)
    assert isinstance(elsewhere, Reply)
    assert elsewhere.kind is ReplyKind.ANSWER
    clock.now += 61
    later = await conversation.decide(said(CONFIDENT, author=9), RULES)
    assert isinstance(later, Reply)
    assert later.kind is ReplyKind.ANSWER


async def test_an_answer_that_could_not_be_sent_lifts_its_cooldown(conversation: Conversation) -> None:
    first = await conversation.decide(said(CONFIDENT), RULES)
    assert isinstance(first, Reply)
    # While it is being sent, the same question is not answered twice, not even with a pointer.
    racing = await conversation.decide(said(CONFIDENT, author=8, addressed=True), RULES)
    assert isinstance(racing, Silent)
    assert racing.why is Silence.COOLING
    await conversation.delivered(said(CONFIDENT), first, RULES, message_id=None)
    retry = await conversation.decide(said(CONFIDENT, author=8), RULES)
    assert isinstance(retry, Reply)
    assert retry.kind is ReplyKind.ANSWER


async def test_unsure_in_a_channel_is_a_silent_miss(
    conversation: Conversation, storage: Storage, metrics: Metrics
) -> None:
    decision = await conversation.decide(said(UNSURE), RULES)
    assert isinstance(decision, Silent)
    assert decision.why is Silence.UNSURE
    assert decision.best is not None
    misses = await storage.top_misses(GUILD)
    assert [(m.text, m.reason, m.entry_id) for m in misses] == [(UNSURE, "no_match", decision.best.entry.id)]
    assert (metrics.messages_seen.value(), metrics.abstentions.value()) == (1, 1)


async def test_unsure_when_addressed_offers_what_came_closest(conversation: Conversation, storage: Storage) -> None:
    decision = await conversation.decide(said(UNSURE, channel=OTHER_CHANNEL, addressed=True), RULES)
    assert isinstance(decision, Reply)
    assert (decision.kind, decision.entry_id, decision.confident) == (ReplyKind.NOT_SURE, None, False)
    assert decision.card.title == "Not sure"
    assert len(decision.alternatives) >= 2
    assert decision.alternatives[0][0].id in decision.card.description
    assert len(await storage.top_misses(GUILD)) == 1


async def test_another_programs_error_without_a_sign_of_mail_is_asked_about(conversation: Conversation) -> None:
    # npm, git and browsers print this too; nothing in the message says it came from a mail app.
    bare = "self signed certificate in certificate chain"
    in_channel = await conversation.decide(said(bare), RULES)
    assert isinstance(in_channel, Silent)
    assert in_channel.why is Silence.UNSURE
    asked = await conversation.decide(said(bare, channel=OTHER_CHANNEL, addressed=True), RULES)
    assert isinstance(asked, Reply)
    assert asked.kind is ReplyKind.NOT_SURE
    assert asked.card.description.startswith("Many programs besides mail apps show this.")
    assert "cert-self-signed" in asked.card.description
    # The same error from a mail program is answered unasked.
    from_mail = await conversation.decide(said(f"nodemailer: {bare}"), RULES)
    assert isinstance(from_mail, Reply)
    assert (from_mail.kind, from_mail.entry_id) == (ReplyKind.ANSWER, "cert-self-signed")


async def test_an_unsure_reply_to_the_bot_is_thanks_not_a_miss(conversation: Conversation, storage: Storage) -> None:
    thanks = said("thanks, that fixed it", channel=OTHER_CHANNEL, replied_to_bot=True)
    decision = await conversation.decide(thanks, RULES)
    assert isinstance(decision, Silent)
    assert decision.why is Silence.UNSURE_REPLY
    assert await storage.top_misses(None) == []


async def test_the_per_user_limit_silences_only_that_user(conversation: Conversation) -> None:
    rules = AnswerRules(Confidence.NORMAL, 60, 1, 60, frozenset({CHANNEL}))
    first = await conversation.decide(said(CONFIDENT), rules)
    assert isinstance(first, Reply)
    await conversation.delivered(said(CONFIDENT), first, rules, message_id=600)
    second = await conversation.decide(said("which port for imap"), rules)
    assert isinstance(second, Silent)
    assert second.why is Silence.RATE_LIMITED
    other = await conversation.decide(said("which port for imap", author=8), rules)
    assert isinstance(other, Reply)
    assert other.entry_id == "imap-ports"


async def test_a_forum_post_title_is_half_the_question(conversation: Conversation) -> None:
    decision = await conversation.decide(
        said("it keeps saying this since yesterday", title="535 5.7.8 Username and Password not accepted"), RULES
    )
    assert isinstance(decision, Reply)
    assert decision.entry_id == "auth-failed-535"
    assert decision.question.startswith("535 5.7.8")


@pytest.mark.parametrize(
    ("how", "expected"),
    [
        ({"addressed": True}, HELLO_TITLE),
        ({"command": True}, NOTHING_TO_LOOK_UP_TITLE),
        ({}, None),  # in an enabled channel: nothing said
    ],
)
async def test_nothing_to_look_up(conversation: Conversation, how: dict[str, bool], expected: str | None) -> None:
    decision = await conversation.decide(said("<@123> \u200b ``` ```", **how), RULES)
    if expected is None:
        assert decision == Silent(Silence.EMPTY)
    else:
        assert isinstance(decision, Reply)
        assert (decision.kind, decision.card.title) == (ReplyKind.NOTHING_TO_LOOK_UP, expected)


async def test_by_command_the_best_match_is_shown_marked_and_never_cools(
    conversation: Conversation, storage: Storage, metrics: Metrics
) -> None:
    unsure = await conversation.decide(said(UNSURE, command=True), RULES)
    assert isinstance(unsure, Reply)
    assert (unsure.kind, unsure.confident) == (ReplyKind.ANSWER, False)
    assert unsure.entry_id is not None
    assert "not sure" in (unsure.card.footer_line or "")
    assert len(await storage.top_misses(GUILD)) == 1
    await conversation.delivered(said(UNSURE, command=True), unsure, RULES, message_id=700)
    stored = await storage.answer(700)
    assert stored is not None
    assert stored.entry_id == unsure.entry_id  # rated later, as shown
    for message_id in (701, 702):
        confident = await conversation.decide(said(CONFIDENT, command=True), RULES)
        assert isinstance(confident, Reply)
        assert confident.confident
        await conversation.delivered(said(CONFIDENT, command=True), confident, RULES, message_id=message_id)
    assert (metrics.answers.value(), metrics.abstentions.value(), metrics.messages_seen.value()) == (2, 1, 0)


async def test_votes(conversation: Conversation, storage: Storage, metrics: Metrics) -> None:
    answer = await conversation.decide(said("which port for imap"), RULES)
    assert isinstance(answer, Reply)
    await conversation.delivered(said("which port for imap"), answer, RULES, message_id=800)
    thanks = await conversation.vote(
        message_id=800, user_id=8, guild_id=GUILD, channel_id=CHANNEL, helpful=True, entry_id="imap-ports"
    )
    assert thanks.result is VoteResult.THANKS
    # 👎 from the same member replaces the 👍 and offers the stored suggestions (no switcher on a passive answer).
    down = await conversation.vote(
        message_id=800, user_id=8, guild_id=GUILD, channel_id=CHANNEL, helpful=False, entry_id=None
    )
    assert down.result is VoteResult.OTHERS
    assert [e.id for e, _ in down.others] == list(answer.suggestion_ids)
    assert [(f.entry_id, f.helpful, f.not_helpful) for f in await storage.worst_entries(GUILD)] == [
        ("imap-ports", 0, 1)
    ]
    assert [(m.text, m.reason) for m in await storage.top_misses(GUILD)] == [("which port for imap", "downvoted")]
    # The switcher's offer wins over the stored suggestions.
    offered = await conversation.vote(
        message_id=800,
        user_id=9,
        guild_id=GUILD,
        channel_id=CHANNEL,
        helpful=False,
        entry_id="imap-ports",
        offered_ids=["imap-ports", "pop3-ports"],
    )
    assert [e.id for e, _ in offered.others] == ["pop3-ports"]
    assert metrics.votes.value(vote="not_helpful") == 2


async def test_a_vote_for_an_answer_never_given_stores_nothing(conversation: Conversation, storage: Storage) -> None:
    with pytest.raises(BadInput):
        await conversation.vote(
            message_id=900, user_id=8, guild_id=GUILD, channel_id=CHANNEL, helpful=True, entry_id="no-such-entry"
        )
    forgotten = await conversation.vote(
        message_id=901, user_id=8, guild_id=GUILD, channel_id=CHANNEL, helpful=True, entry_id=None
    )
    assert forgotten.result is VoteResult.FORGOTTEN
    assert await storage.worst_entries(GUILD) == []
