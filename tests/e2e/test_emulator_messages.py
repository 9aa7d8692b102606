"""Messages in channels, threads and forum posts reach the real client, and its replies, edits, reactions,
threads and uploads reach the emulator."""

from __future__ import annotations

import io

import discord
import pytest

from tests.e2e.emulator.state import INTENT_GUILD_MEMBERS

pytestmark = pytest.mark.without_cogs


def forgive_mention_prefix_noise(log_guard) -> None:
    """The factory bot's prefix is `commands.when_mentioned`, so discord.py parses every mention as a prefix
    command; without the bot's cogs (which handle it) CommandNotFound is logged at ERROR. Drop exactly those.
    """
    log_guard.take(lambda record: "CommandNotFound" in str(record.exc_info))


@pytest.fixture
def received(e2e) -> list[discord.Message]:
    """Every message the bot's client dispatches to on_message."""
    messages: list[discord.Message] = []

    async def on_message(message: discord.Message) -> None:
        messages.append(message)

    e2e.bot.add_listener(on_message)
    return messages


async def test_a_mention_arrives_as_a_guild_message_and_a_reply_goes_back(e2e, log_guard):
    world = e2e.world

    async def on_message(message: discord.Message) -> None:
        if e2e.bot.user in message.mentions:
            await message.reply(f"pong {message.author.mention}")

    e2e.bot.add_listener(on_message)
    question = await e2e.send_message("ping", mention_bot=True)
    answer = await e2e.wait_for_reply(question)
    assert answer.reference_id == question.id
    assert answer.content == f"pong <@{world.member.id}>"
    call = await e2e.wait_for_call(method="POST", path=f"/channels/{world.help.id}/messages")
    assert int(call.json["message_reference"]["message_id"]) == question.id
    # The mention in the reply's text does not ping: the factory's AllowedMentions.none() reaches Discord.
    assert call.json["allowed_mentions"] == {"parse": []}
    assert answer.data["mentions"] == []
    await e2e.settle()
    forgive_mention_prefix_noise(log_guard)


async def test_the_client_sees_author_member_mentions_and_its_own_messages(e2e, received, log_guard):
    world = e2e.world
    question = await e2e.send_message("hello there", mention_bot=True, author=world.moderator)
    await e2e.bot.get_channel(world.help.id).send("my own message")
    await e2e.settle()
    forgive_mention_prefix_noise(log_guard)
    first, own = received
    assert first.id == question.id
    assert first.content == f"<@{world.bot_user.id}> hello there"
    assert isinstance(first.author, discord.Member)
    assert first.author.id == world.moderator.id
    assert first.guild.id == world.guild.id
    assert [user.id for user in first.mentions] == [world.bot_user.id]
    # Discord echoes the bot's own messages back over the gateway.
    assert own.author.id == world.bot_user.id
    assert own.content == "my own message"


async def test_a_reply_to_the_bot_resolves_the_bot_message(e2e, received):
    world = e2e.world
    sent = await e2e.bot.get_channel(world.help.id).send("Use port 993 for IMAP over TLS.")
    bot_message = e2e.emulator.message(sent.id)
    follow_up = await e2e.send_message("and for SMTP?", reply_to=bot_message)
    await e2e.settle()
    (reply,) = [message for message in received if message.id == follow_up.id]
    assert reply.type == discord.MessageType.reply
    assert reply.reference.message_id == sent.id
    assert reply.reference.resolved.author.id == world.bot_user.id
    # A reply mentions the author replied to, as Discord's client does by default.
    assert world.bot_user.id in [user.id for user in reply.mentions]


async def test_messages_in_threads_and_forum_posts(e2e, received):
    world = e2e.world
    created: list[discord.Thread] = []

    async def on_thread_create(thread: discord.Thread) -> None:
        created.append(thread)

    e2e.bot.add_listener(on_thread_create)
    in_thread = await e2e.send_message("still failing", channel=world.help_thread)
    in_old_post = await e2e.send_message("any idea?", channel=world.forum_post)
    thread, starter = await e2e.create_forum_post(
        "Gmail SMTP 535", "535 5.7.8 Username and Password not accepted", tags=("smtp",)
    )
    await e2e.settle()
    by_id = {message.id: message for message in received}
    assert isinstance(by_id[in_thread.id].channel, discord.Thread)
    assert by_id[in_thread.id].channel.parent_id == world.help.id
    assert by_id[in_old_post.id].channel.parent.type == discord.ChannelType.forum
    new_post = by_id[starter.id].channel
    assert starter.id == thread.id == new_post.id  # a forum post's starter message shares the thread's id
    assert [tag.name for tag in new_post.applied_tags] == ["smtp"]
    assert [t.id for t in created] == [thread.id]

    await new_post.send("Use an app password.")
    answer = await e2e.wait_for_reply(starter)
    assert answer.channel_id == thread.id
    assert e2e.emulator.world.channels[thread.id].message_count == 2


async def test_edit_delete_and_reactions(e2e):
    world = e2e.world
    channel = e2e.bot.get_channel(world.help.id)
    sent = await channel.send("draft")
    await sent.edit(content="final", embed=discord.Embed(title="IMAP", description="Port 993"))
    stored = e2e.emulator.message(sent.id)
    assert stored.content == "final"
    assert stored.embeds[0]["title"] == "IMAP"
    assert [edit["content"] for edit in stored.edits] == ["draft"]

    reacted: list[tuple[int, str]] = []

    async def on_raw_reaction_add(payload: discord.RawReactionActionEvent) -> None:
        reacted.append((payload.user_id, str(payload.emoji)))

    e2e.bot.add_listener(on_raw_reaction_add)
    await sent.add_reaction("👍")
    assert stored.reactions == {"👍": 1}
    await e2e.react(stored, "👍", user=world.member)
    assert stored.reactions == {"👍": 2}
    await e2e.settle()
    assert reacted == [(world.bot_user.id, "👍"), (world.member.id, "👍")]
    await sent.remove_reaction("👍", e2e.bot.user)
    assert stored.reactions == {"👍": 1}

    question = await e2e.send_message("thanks")
    deleted: list[int] = []

    async def on_raw_message_delete(payload: discord.RawMessageDeleteEvent) -> None:
        deleted.append(payload.message_id)

    e2e.bot.add_listener(on_raw_message_delete)
    with pytest.raises(discord.Forbidden):
        await channel.get_partial_message(question.id).delete()  # another's message needs Manage Messages
    await sent.delete()
    await e2e.settle()
    assert stored.deleted
    assert deleted == [sent.id]


async def test_the_bot_opens_threads_and_forum_posts(e2e):
    world = e2e.world
    help_channel = e2e.bot.get_channel(world.help.id)
    question = await e2e.send_message("my outlook cannot send")
    message = await help_channel.fetch_message(question.id)
    thread = await message.create_thread(name="Outlook cannot send")
    assert thread.id == question.id
    assert e2e.emulator.world.channels[thread.id].parent_id == world.help.id
    await thread.send("Let's look at it here.")
    assert (await e2e.wait_for_reply(question)).channel_id == thread.id

    plain = await help_channel.create_thread(name="Port questions", type=discord.ChannelType.public_thread)
    assert e2e.emulator.world.channels[plain.id].name == "Port questions"

    forum = e2e.bot.get_channel(world.forum.id)
    imap_tag = next(tag for tag in forum.available_tags if tag.name == "imap")
    post = await forum.create_thread(
        name="IMAP settings", content="Server: imap.example.com, port 993", applied_tags=[imap_tag]
    )
    assert post.thread.id == post.message.id
    assert e2e.emulator.world.channels[post.thread.id].applied_tags == [imap_tag.id]
    await e2e.settle()
    assert e2e.bot.get_channel(post.thread.id) is not None  # THREAD_CREATE reached the client


async def test_uploads_are_recorded_as_multipart(e2e):
    channel = e2e.bot.get_channel(e2e.world.help.id)
    sent = await channel.send(
        "the log", file=discord.File(io.BytesIO(b"220 mail.example.com ESMTP\r\n"), "probe.txt")
    )
    call = e2e.emulator.calls[-1]
    assert call.json["content"] == "the log"
    (upload,) = call.files
    assert upload.filename == "probe.txt"
    assert upload.data.startswith(b"220 ")
    assert sent.attachments[0].filename == "probe.txt"
    assert sent.attachments[0].size == len(upload.data)


async def test_permissions_and_channel_types_are_enforced(e2e):
    world = e2e.world
    with pytest.raises(discord.Forbidden) as forbidden:
        await e2e.bot.get_channel(world.announcements.id).send("news")
    assert forbidden.value.code == 50013
    with pytest.raises(discord.HTTPException) as not_text:
        await e2e.bot.http.send_message(
            world.forum.id, params=discord.http.handle_message_parameters(content="hi")
        )
    assert not_text.value.code == 50008
    with pytest.raises(discord.HTTPException) as empty:
        await e2e.bot.http.send_message(
            world.help.id, params=discord.http.handle_message_parameters(content="")
        )
    assert empty.value.code == 50006


async def test_without_the_message_content_intent_content_is_blanked(emulator, harness, log_guard):
    bot = harness.build()
    bot._connection._intents.message_content = False  # the factory always asks for it; this test must not
    received: list[discord.Message] = []

    async def on_message(message: discord.Message) -> None:
        received.append(message)

    bot.add_listener(on_message)
    await harness.start()
    await harness.send_message("not for the bot")
    await harness.send_message("for the bot", mention_bot=True)
    await harness.settle()
    forgive_mention_prefix_noise(log_guard)
    assert [message.content for message in received] == ["", f"<@{emulator.world.bot_user.id}> for the bot"]


async def test_a_privileged_intent_not_enabled_for_the_app_stops_the_bot(emulator, harness):
    emulator.gateway.allowed_privileged_intents = (
        INTENT_GUILD_MEMBERS  # Message Content is off in the "portal"
    )
    with pytest.raises(discord.PrivilegedIntentsRequired):
        await harness.start()
    closes = [frame.close_code for frame in emulator.gateway.frames if frame.direction == "close"]
    assert closes == [4014]


async def test_silence_can_be_asserted_after_settling(e2e, received):
    mark = e2e.emulator.created_messages.mark()
    await e2e.send_message("just chatting")
    await e2e.expect_no_bot_message(since=mark)
    assert [message.content for message in received] == ["just chatting"]
    await e2e.bot.get_channel(e2e.world.help.id).send("now I speak")
    with pytest.raises(AssertionError, match="stayed silent"):
        await e2e.expect_no_bot_message(since=mark)


async def test_a_wait_that_times_out_says_what_it_saw(e2e):
    await e2e.bot.get_channel(e2e.world.help.id).send("something else")
    with pytest.raises(AssertionError, match=r"DELETE /nowhere[\s\S]*POST /channels/\d+/messages -> 200"):
        await e2e.wait_for_call(method="DELETE", path="/nowhere", timeout=0.05)


async def test_direct_messages_both_ways(e2e, received):
    world = e2e.world
    user = await e2e.bot.fetch_user(world.member.id)
    sent = await user.send("Your probe result is ready.")
    dm = e2e.emulator.world.channels[sent.channel.id]
    assert dm.recipients == [world.member]
    answer = await e2e.send_message("thanks!", channel=dm)
    await e2e.settle()
    (incoming,) = [message for message in received if message.id == answer.id]
    assert isinstance(incoming.channel, discord.DMChannel)
    assert incoming.guild is None
    assert incoming.author.id == world.member.id
