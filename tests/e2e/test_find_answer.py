"""Apps → "Find an answer" (everyone, private, then "Post publicly") and "Post an answer" (moderators, at once)."""

from __future__ import annotations

import copy
import logging

import pytest

from tests.e2e.cogs_helpers import embed, message_call, message_command, pick_question, shown_entry, switcher
from tests.e2e.emulator import CommandNotAvailable, MemberAttachment, Perm
from tests.e2e.emulator.server import MESSAGE_COMPONENT
from tests.e2e.harness import Interaction
from tests.ocr.images import encode, text_image

FIND = "Find an answer"
POST = "Post an answer"
IMAP_QUESTION = "what port does imap use"


def post_button_id(message) -> str:
    return next(custom_id for custom_id in message.custom_ids() if custom_id.startswith("gn:post:"))


def public_bot_messages(e2e, since: int):
    return [m for m in e2e.emulator.bot_messages(since=since) if not m.ephemeral]


async def test_both_are_message_context_menus(e2e):
    find, post = e2e.command(FIND), e2e.command(POST)
    assert (find["type"], post["type"]) == (3, 3)
    assert (find["description"], find["options"]) == ("", [])
    assert find["default_member_permissions"] is None
    assert post["default_member_permissions"] == str(int(Perm.MANAGE_GUILD))
    assert post.get("contexts") == [0]  # servers only


async def test_find_an_answer_is_private_until_posted_as_a_reply(e2e):
    world = e2e.world
    question = await e2e.send_message(IMAP_QUESTION, author=world.member)
    mark = e2e.emulator.created_messages.mark()
    private = await (await message_command(e2e, FIND, question, user=world.helper)).reply()
    assert private.ephemeral
    assert shown_entry(private) == "imap-ports"
    assert post_button_id(private) == f"gn:post:{world.help.id}:{question.id}"
    assert public_bot_messages(e2e, mark) == []

    posting = await e2e.click(private, post_button_id(private), user=world.helper)
    updated = await posting.reply()
    assert updated.id == private.id
    assert updated.content.startswith("Posted: https://discord.com/channels/")
    assert updated.custom_ids() == []  # posted once: the private copy keeps no buttons

    (public,) = public_bot_messages(e2e, mark)
    assert public.data["message_reference"]["message_id"] == str(question.id)
    assert embed(public)["title"] == embed(private)["title"]
    assert shown_entry(public) == "imap-ports"
    sent = message_call(e2e, public).json
    assert sent["allowed_mentions"] == {"parse": [], "replied_user": False}
    stored = await e2e.bot.storage.answer(public.id)
    assert (stored.entry_id, stored.query) == ("imap-ports", IMAP_QUESTION)
    # The public answer is rated like any other.
    thanks = await (await e2e.click(public, "gn:vote:up:imap-ports", user=world.member)).reply()
    assert embed(thanks)["title"] == "Thanks!"


async def test_not_sure_shows_the_switcher_and_posts_the_answer_picked(e2e):
    world = e2e.world
    vague, _ = pick_question(e2e, normal=False)
    question = await e2e.send_message(vague, author=world.member)
    private = await (await message_command(e2e, FIND, question, user=world.member)).reply()
    assert "not sure" in embed(private)["footer"]["text"]
    menu = switcher(private)
    assert len(menu["options"]) > 1
    picked = menu["options"][1]["value"]
    switched = await (await e2e.select(private, menu["custom_id"], [picked], user=world.member)).reply()
    picked_entry = picked.partition(":")[0]
    assert shown_entry(switched) == picked_entry
    assert post_button_id(switched)  # switching keeps the button

    mark = e2e.emulator.created_messages.mark()
    await (await e2e.click(switched, post_button_id(switched), user=world.member)).reply()
    (public,) = public_bot_messages(e2e, mark)
    assert shown_entry(public) == picked_entry
    stored = await e2e.bot.storage.answer(public.id)
    assert (stored.entry_id, stored.query) == (picked_entry, vague)


def with_components(message, replace: dict[str, str], **changes) -> dict:
    """The message's payload with custom ids swapped (`replace`: old → new) and fields changed: discord.py runs
    only a component that the interaction's message carries, so a forged click comes with a forged message."""
    payload = copy.deepcopy({**message.data, **changes})
    for row in payload["components"]:
        for component in row["components"]:
            component["custom_id"] = replace.get(component.get("custom_id"), component.get("custom_id"))
    return payload


async def test_forged_post_publicly_ids_are_refused(e2e, caplog):
    caplog.set_level(logging.WARNING, logger="bot.exts.errors")
    world = e2e.world
    question = await e2e.send_message(IMAP_QUESTION)
    elsewhere = await e2e.send_message("a message in general", channel=world.general)
    private = await (await message_command(e2e, FIND, question)).reply()
    real = post_button_id(private)
    mark = e2e.emulator.created_messages.mark()

    async def forged(custom_id: str, **changes) -> Interaction:
        record = await e2e.emulator.inject_raw(
            MESSAGE_COMPONENT,
            {"custom_id": custom_id, "component_type": 2},
            user=world.member,
            channel=world.help,
            message=private,
            message_payload=with_components(private, {real: custom_id}, **changes),
        )
        return Interaction(e2e.emulator, record)

    refused = await (await forged(f"gn:post:{world.general.id}:{elsewhere.id}")).reply()
    assert (refused.ephemeral, embed(refused)["title"]) == (True, "Not accepted")
    assert "another channel" in refused.text
    # This channel named, but the message is not in it (or nowhere): there is nothing here to reply to.
    for message_id in (elsewhere.id, 99999999999999999999):
        gone = await forged(f"gn:post:{world.help.id}:{message_id}")
        assert "gone" in (await gone.followup(1)).text
    # The button on a message that is not a private answer (Discord never sent it so).
    refused = await (await forged(real, flags=0)).reply()
    assert "private answer" in refused.text
    # A private answer whose 👍 names an entry that does not exist.
    unknown_entry = with_components(private, {"gn:vote:up:imap-ports": "gn:vote:up:no-such"})["components"]
    refused = await (await forged(real, components=unknown_entry)).reply()
    assert "removed" in refused.text

    await e2e.settle()
    assert public_bot_messages(e2e, mark) == []
    refusals = [r for r in caplog.records if r.name == "bot.exts.errors" and "refused" in r.getMessage()]
    assert len(refusals) == 5
    assert all(r.levelname == "WARNING" and r.exc_info is None for r in refusals)  # no traceback


async def test_post_an_answer_posts_at_once_for_moderators(e2e):
    world = e2e.world
    question = await e2e.send_message(IMAP_QUESTION, author=world.member)
    mark = e2e.emulator.created_messages.mark()
    done = await (await message_command(e2e, POST, question, user=world.moderator)).reply()
    assert done.ephemeral
    assert embed(done)["title"] == "Posted"
    (public,) = public_bot_messages(e2e, mark)
    assert public.data["message_reference"]["message_id"] == str(question.id)
    assert shown_entry(public) == "imap-ports"
    assert f"/{public.channel_id}/{public.id}" in done.text
    assert message_call(e2e, public).json["allowed_mentions"]["parse"] == []
    stored = await e2e.bot.storage.answer(public.id)
    assert stored.entry_id == "imap-ports"


async def test_post_an_answer_is_refused_to_members(e2e):
    world = e2e.world
    question = await e2e.send_message(IMAP_QUESTION, author=world.helper)
    with pytest.raises(CommandNotAvailable):
        await message_command(e2e, POST, question, user=world.member)
    # A server can open the command to everyone; the bot still checks.
    mark = e2e.emulator.created_messages.mark()
    refusal = await (await message_command(e2e, POST, question, user=world.member, force=True)).reply()
    assert refusal.ephemeral
    assert embed(refusal)["title"] == "Not allowed"
    assert "Manage Server" in refusal.text
    await e2e.settle()
    assert public_bot_messages(e2e, mark) == []


async def test_post_an_answer_when_unsure_posts_nothing_and_shows_the_guesses(e2e):
    world = e2e.world
    vague, best = pick_question(e2e, normal=False)
    question = await e2e.send_message(vague, author=world.member)
    mark = e2e.emulator.created_messages.mark()
    guesses = await (await message_command(e2e, POST, question, user=world.moderator)).reply()
    assert guesses.ephemeral
    assert guesses.content.startswith("**Not posted:**")
    assert shown_entry(guesses) == best
    assert post_button_id(guesses)
    await e2e.settle()
    assert public_bot_messages(e2e, mark) == []


async def test_nothing_to_answer(e2e):
    world = e2e.world
    empty = await e2e.send_message("```\n```")
    reply = await (await message_command(e2e, FIND, empty)).reply()
    assert (embed(reply)["title"], reply.ephemeral) == ("Nothing to look up", True)
    assert "no text to look up" in reply.text

    answered = await e2e.send_message(IMAP_QUESTION, mention_bot=True)
    own = await e2e.wait_for_reply(answered)
    reply = await (await message_command(e2e, FIND, own)).reply()
    assert embed(reply)["title"] == "Nothing to answer"
    assert "my own messages" in reply.text

    pin_notice = e2e.emulator._new_message(world.help, world.member, {"content": ""}, message_type=6)
    reply = await (await message_command(e2e, POST, pin_notice, user=world.moderator)).reply()
    assert "system message" in reply.text


@pytest.mark.parametrize("settings_overrides", [{"dev_guild": None}])
async def test_in_a_direct_message_the_answer_is_an_ordinary_message(e2e):
    world = e2e.world
    dm = world.open_dm(world.member)
    question = await e2e.send_message(IMAP_QUESTION, channel=dm, author=world.member)
    await e2e.wait_for_reply(question)  # a direct message is answered on its own as well
    answer = await (await message_command(e2e, FIND, question)).reply()
    assert not answer.ephemeral
    assert shown_entry(answer) == "imap-ports"
    assert not [i for i in answer.custom_ids() if i.startswith("gn:post:")]
    assert (await e2e.bot.storage.answer(answer.id)).entry_id == "imap-ports"


async def test_a_channel_the_bot_cannot_post_in_gets_a_private_explanation(e2e, caplog):
    caplog.set_level(logging.WARNING, logger="bot.exts.find_answer")
    world = e2e.world
    question = await e2e.send_message(IMAP_QUESTION, channel=world.announcements, author=world.owner)
    private = await (await message_command(e2e, FIND, question)).reply()
    mark = e2e.emulator.created_messages.mark()
    posting = await e2e.click(private, post_button_id(private))
    explained = await posting.followup(1)
    assert explained.ephemeral
    assert embed(explained)["title"] == "Not posted"
    assert "I need Send Messages" in explained.text
    assert public_bot_messages(e2e, mark) == []
    (warning,) = [r for r in caplog.records if r.name == "bot.exts.find_answer"]
    assert (warning.levelname, warning.exc_info) == ("WARNING", None)
    assert e2e.bot.metrics.answers_lost.value(reason="forbidden") == 1


@pytest.fixture
def settings_overrides(emulator):
    # Screenshots are downloaded only from Discord's CDN hosts: here the emulator serves the attachments.
    return {"discord_cdn_hosts": [f"127.0.0.1:{emulator.port}"]}


async def test_a_screenshot_is_read_as_the_question(e2e):
    world = e2e.world
    image = text_image("535 5.7.8 Username and Password not accepted", size=20)
    attachment = MemberAttachment("error.png", encode(image), "image/png", width=image.width, height=image.height)
    question = await e2e.emulator.inject_message("", author=world.member, channel=world.help, attachments=[attachment])
    mark = e2e.emulator.created_messages.mark()
    done = await (await message_command(e2e, POST, question, user=world.moderator)).reply()
    assert embed(done)["title"] == "Posted"
    (public,) = public_bot_messages(e2e, mark)
    assert shown_entry(public) == "auth-failed-535"
    assert e2e.emulator.attachment_downloads.items  # read from the file, not guessed
