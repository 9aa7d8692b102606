"""`/ask`: always an answer — the best match or "not sure" — with suggestions that switch it in place."""

from __future__ import annotations

import asyncio
import json

from bot.cli import main as cli_main
from tests.e2e.cogs_helpers import embed, pick_question, shown_entry, switcher, vote_ids, votes_on

AUTH_ERROR = "535 5.7.8 Username and Password not accepted"


async def test_ask_answers_publicly_with_switcher_and_votes(e2e):
    world = e2e.world
    inter = await e2e.slash("ask", question="which smtp port should I use")
    answer = await inter.reply()
    assert inter.response_type == 4
    assert not answer.ephemeral
    assert shown_entry(answer) == "smtp-ports"
    assert "confident" in embed(answer)["footer"]["text"]
    up, _ = vote_ids(answer)
    assert up == "gn:vote:up:smtp-ports"
    menu = switcher(answer)
    values = [option["value"] for option in menu["options"]]
    assert values[0].startswith("smtp-ports:")
    assert [option.get("default", False) for option in menu["options"]][:2] == [True, False]
    assert len(values) >= 3
    # Sent with mentions disabled, like everything the bot sends.
    callback = await inter.ack()
    assert callback.json["data"]["allowed_mentions"] == {"parse": []}

    # The asker switches to another suggestion: the same message changes (callback type 7).
    other = values[1]
    switch = await e2e.select(answer, menu["custom_id"], [other], user=world.member)
    switched = await switch.reply()
    assert switch.response_type == 7
    assert switched.id == answer.id
    assert shown_entry(switched) == other.partition(":")[0]
    assert "picked from the suggestions" in embed(switched)["footer"]["text"]
    assert [o.get("default", False) for o in switcher(switched)["options"]][:2] == [False, True]

    # A 👎 on the switched answer rates the entry now shown, and offers the other suggestions.
    vote = await e2e.click(switched, vote_ids(switched)[1], user=world.helper)
    offer = await vote.reply()
    assert offer.ephemeral
    offered = [option["value"].partition(":")[0] for option in switcher(offer)["options"]]
    shown = other.partition(":")[0]
    assert shown not in offered
    assert values[0].partition(":")[0] in offered
    await e2e.settle()
    assert votes_on(e2e.bot.storage, answer.id) == (0, 1)
    worst = await e2e.bot.storage.worst_entries(world.guild.id)
    assert [(row.entry_id, row.not_helpful) for row in worst] == [(shown, 1)]


async def test_only_the_asker_switches_the_public_answer(e2e):
    world = e2e.world
    answer = await (await e2e.slash("ask", question="which smtp port should I use")).reply()
    menu = switcher(answer)
    other = menu["options"][1]["value"]
    edits = e2e.emulator.edited_messages.mark()
    pick = await e2e.select(answer, menu["custom_id"], [other], user=world.helper)
    private = await pick.reply()
    assert pick.response_type == 4
    assert private.ephemeral
    assert shown_entry(private) == other.partition(":")[0]
    await e2e.settle()
    assert not e2e.emulator.edited_messages.find(lambda m: m.id == answer.id, since=edits)


async def test_ask_private_is_ephemeral(e2e):
    inter = await e2e.slash("ask", question=AUTH_ERROR, private=True)
    answer = await inter.reply()
    assert answer.ephemeral
    assert shown_entry(answer) == "auth-failed-535"
    await e2e.settle()
    record = await e2e.bot.storage.answer(answer.id)
    assert record is not None
    assert record.entry_id == "auth-failed-535"


async def test_ask_not_sure_offers_suggestions_and_records_a_miss(e2e):
    world = e2e.world
    vague, best = pick_question(e2e, normal=False)
    inter = await e2e.slash("ask", question=vague)
    reply = await inter.reply()
    card = embed(reply)
    assert "not sure" in card["footer"]["text"]
    assert shown_entry(reply) == best  # the closest match is shown, and can be rated
    assert switcher(reply)["options"][0]["value"].startswith(f"{best}:")
    await e2e.settle()
    misses = await e2e.bot.storage.top_misses(world.guild.id)
    assert [(miss.text, miss.reason, miss.entry_id) for miss in misses] == [(vague, "no_match", best)]
    assert e2e.bot.metrics.abstentions.value() == 1


async def test_ask_with_nothing_matching_says_so(e2e):
    reply = await (await e2e.slash("ask", question="banana smoothie recipe")).reply()
    assert embed(reply)["title"] == "Not sure"
    assert "error message" in reply.text
    assert not reply.components  # nothing to switch to, nothing to rate


async def test_ask_empty_after_cleaning_is_refused_clearly(e2e):
    for question in ("\u200b\u200b", "``````", "<@123>"):
        inter = await e2e.slash("ask", question=question)
        reply = await inter.reply()
        assert reply.ephemeral
        assert embed(reply)["title"] == "Nothing to look up"


async def test_ask_long_question_with_a_code_block(e2e):
    command = e2e.command("ask")
    question_option = next(o for o in command["options"] if o["name"] == "question")
    assert question_option["max_length"] == 2000
    long_question = "I tried everything. " * 80 + f"\n```\n{AUTH_ERROR}\n```"
    assert len(long_question) <= 2000
    reply = await (await e2e.slash("ask", question=long_question)).reply()
    assert shown_entry(reply) == "auth-failed-535"


async def test_the_posted_answer_is_the_text_guidenest_ask_prints(e2e, capsys, monkeypatch, tmp_path):
    """`guidenest ask --json` promises `answer` is exactly what the bot posts: for /ask and for a mention."""
    monkeypatch.chdir(tmp_path)  # no .env: the command line reads the same shipped knowledge as the bot
    question = "which smtp port should I use"
    # In a thread, as from a shell: the command line runs its own event loop, and this test is inside one.
    assert await asyncio.to_thread(cli_main, ["ask", "--json", question]) == 0
    printed = json.loads(capsys.readouterr().out)["match"]

    by_command = await (await e2e.slash("ask", question=question)).reply()
    mention = await e2e.send_message(question, channel=e2e.world.general, mention_bot=True)
    by_mention = await e2e.wait_for_reply(mention)
    for answer in (by_command, by_mention):
        assert shown_entry(answer) == printed["id"]
        assert embed(answer)["title"] == printed["title"]
        assert embed(answer)["description"] == printed["answer"]
