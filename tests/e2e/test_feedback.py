"""👍 / 👎: votes stored; a 👎 kept as a miss and answered with other suggestions; all after a restart too."""

from __future__ import annotations

from tests.e2e.cogs_helpers import embed, enable_channel, shown_entry, switcher, vote_ids, votes_on


async def _passive_answer(e2e, text: str):
    question = await e2e.send_message(text, channel=e2e.world.general, mention_bot=True)
    return await e2e.wait_for_reply(question)


async def test_a_vote_is_stored_and_a_second_vote_replaces_it(e2e):
    world = e2e.world
    answer = await _passive_answer(e2e, "0x800CCC0E")
    up, down = vote_ids(answer)

    thanks = await (await e2e.click(answer, up, user=world.member)).reply()
    assert thanks.ephemeral
    assert embed(thanks)["title"] == "Thanks!"
    assert votes_on(e2e.bot.storage, answer.id) == (1, 0)

    await (await e2e.click(answer, up, user=world.helper)).reply()
    await (await e2e.click(answer, down, user=world.member)).reply()  # changes their mind
    await e2e.settle()
    assert votes_on(e2e.bot.storage, answer.id) == (1, 1)
    assert e2e.bot.metrics.votes.value(vote="helpful") == 2
    assert e2e.bot.metrics.votes.value(vote="not_helpful") == 1


async def test_downvote_keeps_a_miss_and_offers_the_other_suggestions(e2e):
    world = e2e.world
    answer = await _passive_answer(e2e, "what port does imap use")
    assert shown_entry(answer) == "imap-ports"
    await e2e.settle()
    stored = await e2e.bot.storage.answer(answer.id)
    assert stored is not None
    assert stored.suggestions

    vote = await e2e.click(answer, vote_ids(answer)[1], user=world.member)
    offer = await vote.reply()
    assert offer.ephemeral
    menu = switcher(offer)
    offered = [option["value"].partition(":")[0] for option in menu["options"]]
    assert offered == list(stored.suggestions)
    await e2e.settle()
    misses = await e2e.bot.storage.top_misses(world.guild.id)
    assert [(m.reason, m.entry_id, m.text) for m in misses] == [
        ("downvoted", "imap-ports", "what port does imap use")
    ]

    # Picking one shows it in the same private message.
    pick = await e2e.select(offer, menu["custom_id"], [menu["options"][0]["value"]], user=world.member)
    shown = await pick.reply()
    assert pick.response_type == 7
    assert shown.id == offer.id
    assert shown_entry(shown) == offered[0]


async def test_buttons_and_switcher_work_after_a_restart(e2e):
    world = e2e.world
    await enable_channel(e2e, world.help)
    question = await e2e.send_message("what port does imap use")
    answer = await e2e.wait_for_reply(question)
    asked = await (await e2e.slash("ask", question="which smtp port should I use")).reply()
    await e2e.settle()
    first_bot = e2e.bot

    await e2e.restart()
    assert e2e.bot is not first_bot
    assert e2e.starts == 2

    up, down = vote_ids(answer)
    thanks = await (await e2e.click(answer, up, user=world.helper)).reply()
    assert embed(thanks)["title"] == "Thanks!"
    await e2e.settle()
    assert votes_on(e2e.bot.storage, answer.id) == (1, 0)

    # The 👎 still finds the suggestions stored with the answer.
    offer = await (await e2e.click(answer, down, user=world.member)).reply()
    stored = await e2e.bot.storage.answer(answer.id)
    assert [o["value"].partition(":")[0] for o in switcher(offer)["options"]] == list(stored.suggestions)

    # The /ask switcher too.
    menu = switcher(asked)
    switch = await e2e.select(asked, menu["custom_id"], [menu["options"][1]["value"]], user=world.member)
    switched = await switch.reply()
    assert switch.response_type == 7
    assert shown_entry(switched) == menu["options"][1]["value"].partition(":")[0]
