"""The answering policy without Discord: what is matched, when the bot speaks, cooldowns, rate limits."""

from __future__ import annotations

import pytest

from bot.answering import Throttle, Trigger, clean_question, effective_rules, trigger_for
from bot.settings import Confidence, Settings


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
    own = effective_rules(settings, confidence="relaxed", cooldown_seconds=0, user_limit=10)
    assert (own.confidence, own.cooldown_seconds, own.user_limit) == (Confidence.RELAXED, 0, 10)


def test_cooldown_per_channel_and_entry() -> None:
    clock = FakeClock()
    throttle = Throttle(clock)
    assert throttle.cooling_answer(1, "imap-ports") is None
    throttle.note_answer(1, "imap-ports", message_id=500, cooldown_seconds=60)
    assert throttle.cooling_answer(1, "imap-ports") == 500
    assert throttle.cooling_answer(2, "imap-ports") is None  # another channel
    assert throttle.cooling_answer(1, "pop3-ports") is None  # another entry
    clock.now += 59.9
    assert throttle.cooling_answer(1, "imap-ports") == 500
    clock.now += 0.2
    assert throttle.cooling_answer(1, "imap-ports") is None


def test_forget_answer_lifts_the_cooldown() -> None:
    throttle = Throttle(FakeClock())
    throttle.note_answer(1, "imap-ports", message_id=0, cooldown_seconds=60)
    throttle.forget_answer(1, "imap-ports")
    throttle.forget_answer(1, "never-noted")
    assert throttle.cooling_answer(1, "imap-ports") is None


def test_zero_cooldown_never_cools() -> None:
    throttle = Throttle(FakeClock())
    throttle.note_answer(1, "imap-ports", message_id=500, cooldown_seconds=0)
    assert throttle.cooling_answer(1, "imap-ports") is None


def test_user_rate_limit_is_a_sliding_window() -> None:
    clock = FakeClock()
    throttle = Throttle(clock)
    assert [throttle.allow_user(7, limit=2, window_seconds=60) for _ in range(3)] == [True, True, False]
    assert throttle.allow_user(8, limit=2, window_seconds=60)  # someone else is not affected
    clock.now += 30
    assert not throttle.allow_user(7, limit=2, window_seconds=60)
    clock.now += 30.1  # the first two fall out of the window
    assert throttle.allow_user(7, limit=2, window_seconds=60)


def test_pruning_keeps_hits_inside_a_long_rate_window() -> None:
    # Answers noted elsewhere trigger a prune; a user's hit from over an hour ago still counts in a 2 h window.
    clock = FakeClock()
    throttle = Throttle(clock)
    assert throttle.allow_user(7, limit=1, window_seconds=7200)
    clock.now += 4000
    for index in range(Throttle._PRUNE_EVERY):
        throttle.note_answer(1, f"entry-{index}", message_id=index, cooldown_seconds=0)
    assert not throttle.allow_user(7, limit=1, window_seconds=7200)


def test_throttle_forgets_old_records() -> None:
    clock = FakeClock()
    throttle = Throttle(clock)
    for user in range(300):
        throttle.allow_user(user, limit=1, window_seconds=10)
        throttle.note_answer(user, "e", message_id=user, cooldown_seconds=10)
    clock.now += 3600
    for user in range(300, 600):
        throttle.allow_user(user, limit=1, window_seconds=10)
        throttle.note_answer(user, "e", message_id=user, cooldown_seconds=10)
    assert len(throttle._user_hits) < 600
    assert len(throttle._cooling) < 600
    assert throttle.cooling_answer(599, "e") == 599  # recent records stay
