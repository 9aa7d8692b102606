"""Passive answers: enabled channels, threads, forum posts, mentions, replies; silence, cooldown, limits."""

from __future__ import annotations

import pytest

from tests.e2e.cogs_helpers import embed, enable_channel, message_call, pick_question, shown_entry, switcher
from tests.e2e.emulator import DefaultWorld

AUTH_ERROR = "535 5.7.8 Username and Password not accepted"


class WorldWithAnotherBot(DefaultWorld):
    def __init__(self) -> None:
        super().__init__()
        self.other_bot = self.add_user("other-bot", bot=True)
        self.guild.add_member(self.other_bot)


@pytest.fixture
def world() -> DefaultWorld:
    return WorldWithAnotherBot()


async def test_confident_answer_in_an_enabled_channel(e2e):
    world = e2e.world
    await enable_channel(e2e, world.help)
    question = await e2e.send_message(f"Thunderbird says: {AUTH_ERROR}")
    answer = await e2e.wait_for_reply(question)

    assert answer.channel_id == world.help.id
    assert answer.reference_id == question.id  # posted as a reply
    card = embed(answer)
    assert "535" in card["title"] or "password" in card["title"].lower()
    assert card["fields"][0]["name"] == "Source"
    assert "confident" in card["footer"]["text"]
    assert shown_entry(answer) == "auth-failed-535"
    await e2e.settle()  # the answer is recorded after it is sent
    record = await e2e.bot.storage.answer(answer.id)
    assert record is not None
    assert record.entry_id == "auth-failed-535"
    assert AUTH_ERROR in record.query
    assert e2e.bot.metrics.answers.value() == 1
    assert e2e.bot.metrics.messages_seen.value() == 1


async def test_silent_on_chatter_and_the_miss_is_kept(e2e):
    await enable_channel(e2e, e2e.world.help)
    mark = e2e.emulator.created_messages.mark()
    await e2e.send_message("thanks a lot, see you tomorrow!")
    await e2e.send_message("banana smoothie recipe anyone?")
    await e2e.expect_no_bot_message(mark)

    misses = await e2e.bot.storage.top_misses(e2e.world.guild.id)
    assert {miss.text for miss in misses} == {
        "thanks a lot, see you tomorrow!",
        "banana smoothie recipe anyone?",
    }
    assert all(miss.reason == "no_match" for miss in misses)
    assert e2e.bot.metrics.abstentions.value() == 2


async def test_silent_where_not_enabled_which_is_everywhere_by_default(e2e):
    mark = e2e.emulator.created_messages.mark()
    await e2e.send_message(AUTH_ERROR, channel=e2e.world.general)
    await e2e.send_message(AUTH_ERROR)  # help, not enabled either
    await e2e.expect_no_bot_message(mark)
    assert await e2e.bot.storage.top_misses(e2e.world.guild.id) == []
    assert e2e.bot.metrics.messages_seen.value() == 0


async def test_answers_a_mention_anywhere(e2e):
    question = await e2e.send_message("what port does imap use", channel=e2e.world.general, mention_bot=True)
    answer = await e2e.wait_for_reply(question)
    assert answer.reference_id == question.id
    assert "993" in answer.text
    assert shown_entry(answer) == "imap-ports"


async def test_mentioning_the_bots_role_counts_as_a_mention(e2e):
    world = e2e.world
    question = await e2e.send_message(f"<@&{world.bot_role.id}> 0x800CCC0E", channel=world.general)
    answer = await e2e.wait_for_reply(question)
    assert shown_entry(answer) == "outlook-0x800ccc0e"


async def test_answers_in_a_direct_message(e2e):
    world = e2e.world
    dm = world.open_dm(world.member)
    question = await e2e.send_message(AUTH_ERROR, channel=dm)
    answer = await e2e.wait_for_reply(question)
    assert answer.channel_id == dm.id
    assert shown_entry(answer) == "auth-failed-535"
    await e2e.settle()
    record = await e2e.bot.storage.answer(answer.id)
    assert record is not None
    assert record.guild_id is None


async def test_a_reply_to_the_bot_is_addressed_to_it(e2e):
    world = e2e.world
    first = await e2e.send_message("what port does imap use", channel=world.general, mention_bot=True)
    answer = await e2e.wait_for_reply(first)
    follow_up = await e2e.send_message("0x800CCC0E", channel=world.general, reply_to=answer)
    second = await e2e.wait_for_reply(follow_up)
    assert second.reference_id == follow_up.id
    assert shown_entry(second) == "outlook-0x800ccc0e"
    # A reply it has no confident answer for is mostly thanks: no "not sure", and no miss recorded.
    mark = e2e.emulator.created_messages.mark()
    await e2e.send_message("thanks, that fixed it!", channel=world.general, reply_to=second)
    await e2e.expect_no_bot_message(mark)
    assert await e2e.bot.storage.top_misses(world.guild.id) == []


async def test_unsure_mention_gets_suggestions_to_pick_from(e2e):
    world = e2e.world
    vague, best = pick_question(e2e, normal=False)
    question = await e2e.send_message(vague, channel=world.general, mention_bot=True)
    reply = await e2e.wait_for_reply(question)
    assert embed(reply)["title"] == "Not sure"
    menu = switcher(reply)
    values = [option["value"] for option in menu["options"]]
    assert values[0].startswith(f"{best}:")
    assert shown_entry(reply) is None  # nothing to rate until an answer is shown

    picked = await e2e.select(reply, menu["custom_id"], [values[0]], user=world.member)
    switched = await picked.reply()
    assert picked.response_type == 7  # switched in place
    assert switched.id == reply.id
    assert shown_entry(switched) == best
    await e2e.settle()
    misses = await e2e.bot.storage.top_misses(world.guild.id)
    assert [miss.text for miss in misses] == [vague]


async def test_a_bare_mention_says_how_to_ask(e2e):
    question = await e2e.send_message("\u200b", channel=e2e.world.general, mention_bot=True)
    reply = await e2e.wait_for_reply(question)
    assert "paste the error" in reply.text


async def test_forum_post_is_answered_in_its_thread(e2e):
    world = e2e.world
    await enable_channel(e2e, world.forum)
    thread, starter = await e2e.create_forum_post(
        "Outlook error 0x800CCC0E", "It worked until yesterday, now sending fails.", tags=("smtp",)
    )
    answer = await e2e.wait_for_reply(starter)
    assert answer.channel_id == thread.id
    assert answer.reference_id == starter.id
    assert shown_entry(answer) == "outlook-0x800ccc0e"


async def test_thread_of_an_enabled_channel_is_answered(e2e):
    world = e2e.world
    await enable_channel(e2e, world.help)
    question = await e2e.send_message(AUTH_ERROR, channel=world.help_thread)
    answer = await e2e.wait_for_reply(question)
    assert answer.channel_id == world.help_thread.id
    assert shown_entry(answer) == "auth-failed-535"


async def test_cooldown_on_repeating_an_answer_in_a_channel(e2e):
    world = e2e.world
    await enable_channel(e2e, world.help)
    first = await e2e.send_message(AUTH_ERROR)
    answer = await e2e.wait_for_reply(first)

    mark = e2e.emulator.created_messages.mark()
    await e2e.send_message(f"same here: {AUTH_ERROR}", author=world.helper)
    await e2e.expect_no_bot_message(mark)

    # Another entry is not cooling down; the same entry in another channel neither.
    other = await e2e.send_message("0x800CCC0E", author=world.helper)
    assert shown_entry(await e2e.wait_for_reply(other)) == "outlook-0x800ccc0e"
    elsewhere = await e2e.send_message(AUTH_ERROR, channel=world.general, mention_bot=True)
    assert shown_entry(await e2e.wait_for_reply(elsewhere)) == "auth-failed-535"

    # Asked directly while it cools down, the bot points at its earlier answer instead of repeating it.
    direct = await e2e.send_message(AUTH_ERROR, mention_bot=True, author=world.helper)
    pointer = await e2e.wait_for_reply(direct)
    assert not pointer.embeds
    assert pointer.content.endswith(f"/{world.guild.id}/{world.help.id}/{answer.id}")


async def test_the_same_question_posted_twice_at_once_is_answered_once(e2e):
    world = e2e.world
    await enable_channel(e2e, world.help)
    await e2e.send_message("warming up the settings cache")
    await e2e.settle()
    mark = e2e.emulator.created_messages.mark()
    await e2e.send_message(AUTH_ERROR)
    await e2e.send_message(AUTH_ERROR, author=world.helper)
    await e2e.settle()
    answers = e2e.emulator.bot_messages(world.help.id, since=mark)
    assert [shown_entry(answer) for answer in answers] == ["auth-failed-535"]


async def test_cooldown_setting_zero_repeats_answers(e2e):
    world = e2e.world
    await enable_channel(e2e, world.help)
    inter = await e2e.slash("config cooldowns", user=world.moderator, answer_seconds=0)
    await inter.reply()
    for author in (world.member, world.helper):
        question = await e2e.send_message(AUTH_ERROR, author=author)
        assert shown_entry(await e2e.wait_for_reply(question)) == "auth-failed-535"


class TestRateLimit:
    @pytest.fixture
    def settings_overrides(self):
        return {"user_rate_limit": 2, "answer_cooldown_seconds": 0}

    async def test_per_user_rate_limit(self, e2e):
        world = e2e.world
        await enable_channel(e2e, world.help)
        for _ in range(2):
            question = await e2e.send_message(AUTH_ERROR)
            await e2e.wait_for_reply(question)
        mark = e2e.emulator.created_messages.mark()
        await e2e.send_message("0x800CCC0E")
        await e2e.expect_no_bot_message(mark)
        other = await e2e.send_message("0x800CCC0E", author=world.helper)
        assert shown_entry(await e2e.wait_for_reply(other)) == "outlook-0x800ccc0e"


async def test_ignores_other_bots(e2e):
    world = e2e.world
    await enable_channel(e2e, world.help)
    mark = e2e.emulator.created_messages.mark()
    await e2e.send_message(AUTH_ERROR, author=world.other_bot)
    await e2e.send_message("what port does imap use", author=world.other_bot, mention_bot=True)
    await e2e.expect_no_bot_message(mark)
    # The same mention from a person is answered: the silence above was about the author.
    question = await e2e.send_message("what port does imap use", mention_bot=True)
    assert shown_entry(await e2e.wait_for_reply(question)) == "imap-ports"


async def test_everyone_in_the_question_is_answered_without_pinging(e2e):
    await enable_channel(e2e, e2e.world.help)
    question = await e2e.send_message(f"@everyone help!! {AUTH_ERROR} <@&{e2e.world.moderator_role.id}>")
    answer = await e2e.wait_for_reply(question)
    sent = message_call(e2e, answer).json
    assert sent["allowed_mentions"]["parse"] == []
    assert not sent["allowed_mentions"].get("replied_user")
    assert shown_entry(answer) == "auth-failed-535"


async def test_code_blocks_zero_width_and_long_pastes(e2e):
    world = e2e.world
    await enable_channel(e2e, world.help)
    fenced = await e2e.send_message(f"```text\n{AUTH_ERROR}\n```")
    assert shown_entry(await e2e.wait_for_reply(fenced)) == "auth-failed-535"
    hidden = await e2e.send_message("0x800\u200bCCC0E\u2060", author=world.helper)
    assert shown_entry(await e2e.wait_for_reply(hidden)) == "outlook-0x800ccc0e"
    mark = e2e.emulator.created_messages.mark()
    await e2e.send_message("la " * 1300, author=world.owner)  # 3,900 characters of nothing
    await e2e.send_message("\u200b\u200b", author=world.owner)
    await e2e.expect_no_bot_message(mark)
