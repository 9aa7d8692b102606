"""The real client logs in and connects to the emulator, and survives what the gateway does to it."""

from __future__ import annotations

import math

import discord
import pytest

from tests.e2e.emulator import DefaultWorld, ThreeGuildWorld
from tests.e2e.emulator.gateway import OP_HEARTBEAT, OP_HEARTBEAT_ACK, OP_IDENTIFY, OP_RESUME

pytestmark = pytest.mark.without_cogs


def _recv(e2e, op, since=0):
    return e2e.gateway.frames.find(lambda f: f.direction == "recv" and f.op == op, since)


async def test_login_reads_user_and_application_then_connects(e2e):
    world = e2e.world
    paths = [f"{call.method} {call.path}" for call in e2e.emulator.calls]
    # Login, application info, command sync (setup_hook), then the sharded client's GET /gateway/bot.
    assert paths[:2] == ["GET /users/@me", "GET /oauth2/applications/@me"]
    assert paths[-1] == "GET /gateway/bot"
    assert all(call.authorization == f"Bot {world.token}" for call in e2e.emulator.calls)
    assert e2e.bot.user.id == world.bot_user.id
    assert e2e.bot.application_id == world.application_id

    identify = _recv(e2e, OP_IDENTIFY)[0].data
    assert identify["token"] == world.token
    assert identify["shard"] == [0, 1]
    assert discord.Intents._from_value(identify["intents"]).message_content


async def test_guild_arrives_with_channels_forum_threads_and_roles(e2e):
    world: DefaultWorld = e2e.world
    guild = e2e.bot.get_guild(world.guild.id)
    assert guild is not None
    assert guild.name == world.guild.name
    assert guild.me is not None
    assert guild.me.id == world.bot_user.id

    help_channel = guild.get_channel(world.help.id)
    assert isinstance(help_channel, discord.TextChannel)
    assert help_channel.name == "help"
    forum = guild.get_channel(world.forum.id)
    assert isinstance(forum, discord.ForumChannel)
    assert {tag.name for tag in forum.available_tags} == {"imap", "smtp", "pop3", "solved"}
    post = guild.get_thread(world.forum_post.id)
    assert post is not None
    assert post.parent_id == forum.id
    assert [tag.name for tag in post.applied_tags] == ["imap"]
    assert guild.get_thread(world.help_thread.id).parent_id == help_channel.id

    moderator_role = guild.get_role(world.moderator_role.id)
    assert moderator_role.permissions.manage_guild
    assert not guild.default_role.permissions.manage_guild
    # The read-only channel's overwrite reaches the client: the bot may not send there.
    assert not guild.get_channel(world.announcements.id).permissions_for(guild.me).send_messages
    assert help_channel.permissions_for(guild.me).send_messages


class TestSharding:
    @pytest.fixture
    def world(self):
        return ThreeGuildWorld()

    async def test_guilds_reach_the_shard_discord_routes_them_to(self, emulator, harness):
        emulator.recommended_shards = 2
        harness.build()
        identifies = harness.skip_identify_wait()
        bot = await harness.start()
        assert identifies == [True, False]  # the client would wait 5 s before the second shard's IDENTIFY
        assert bot.shard_count == 2
        ready = {tuple(frame.data["shard"]) for frame in emulator.gateway.frames if frame.event == "READY"}
        assert ready == {(0, 2), (1, 2)}
        for guild_id in emulator.world.guilds:
            guild = bot.get_guild(guild_id)
            assert guild is not None
            assert guild.shard_id == (guild_id >> 22) % 2
        connections = {frame.connection for frame in emulator.gateway.frames if frame.event == "GUILD_CREATE"}
        assert len(connections) == 2  # each shard's connection got its own guilds

    async def test_messages_reach_their_guilds_shard_and_direct_messages_shard_0(self, emulator, harness):
        emulator.recommended_shards = 2
        harness.build()
        harness.skip_identify_wait()
        await harness.start()
        world = emulator.world
        shard_of_connection = {
            frame.connection: frame.data["shard"][0] for frame in emulator.gateway.frames if frame.event == "READY"
        }
        author = next(iter(world.users.values()))
        sent = []
        for guild in world.guilds.values():
            channel = next(c for c in guild.channels.values() if c.name == "general")
            sent.append((await emulator.inject_message("hello", author=author, channel=channel), guild.id >> 22))
        dm = await emulator.inject_message("hello", author=author, channel=world.open_dm(author))
        await harness.settle()
        creates = [frame for frame in emulator.gateway.frames if frame.event == "MESSAGE_CREATE"]
        for message, shifted in sent:
            [frame] = [f for f in creates if f.data["id"] == str(message.id)]  # one shard only
            assert shard_of_connection[frame.connection] == shifted % 2
        [frame] = [f for f in creates if f.data["id"] == str(dm.id)]
        assert shard_of_connection[frame.connection] == 0


async def test_heartbeats_are_acknowledged(emulator, harness):
    emulator.gateway.heartbeat_interval_ms = 20
    await harness.start()
    frames = emulator.gateway.frames
    # Two heartbeats from the client, each acknowledged.
    await frames.wait_for(
        lambda f: f.direction == "recv" and f.op == OP_HEARTBEAT and len(_recv(harness, OP_HEARTBEAT)) >= 2,
        what="two heartbeats",
    )
    acks = frames.find(lambda f: f.direction == "send" and f.op == OP_HEARTBEAT_ACK)
    assert len(acks) >= 2
    assert math.isfinite(harness.bot.latency)


async def test_the_client_beats_at_once_when_the_gateway_asks(e2e):
    mark = e2e.gateway.frames.mark()
    await e2e.gateway.request_heartbeat()
    beat = await e2e.gateway.frames.wait_for(
        lambda f: f.direction == "recv" and f.op == OP_HEARTBEAT, since=mark, timeout=1.0, what="a heartbeat"
    )
    # The heartbeat carries the last sequence number the client saw.
    assert beat.data == max(f.seq for f in e2e.gateway.frames if f.seq is not None)


async def test_a_dropped_connection_resumes_and_replays_missed_events(e2e):
    world = e2e.world
    session_id = next(iter(e2e.gateway.sessions))
    seen: list[str] = []

    async def on_message(message: discord.Message) -> None:
        seen.append(message.content)

    e2e.bot.add_listener(on_message)
    mark = e2e.gateway.frames.mark()
    await e2e.wait_for_event("resumed", lambda: e2e.gateway.drop(resumable=True))

    resume = _recv(e2e, OP_RESUME, mark)
    assert len(resume) == 1
    assert resume[0].data["session_id"] == session_id
    assert not _recv(e2e, OP_IDENTIFY, mark)
    # Reconnects go to READY's resume_gateway_url.
    opened = [f for f in e2e.gateway.frames.items[mark:] if f.direction == "open"]
    assert opened[0].path == "/gateway/resume"

    # An event sent while the connection is down is replayed on RESUME.
    await e2e.gateway.drop(resumable=True)
    await e2e.send_message("sent while the bot was away", author=world.helper)
    await e2e.gateway.resumed.wait_for(lambda s: len(e2e.gateway.resumed) >= 2, what="a second RESUME")
    await e2e.settle()
    assert "sent while the bot was away" in seen
    channel = e2e.bot.get_channel(world.help.id)
    assert (await channel.send("still here")).content == "still here"


async def test_an_unresumable_drop_ends_in_a_fresh_identify(e2e):
    identifies = e2e.skip_identify_wait()
    mark = e2e.gateway.frames.mark()
    old_session = next(iter(e2e.gateway.sessions))
    await e2e.wait_for_event("ready", lambda: e2e.gateway.drop(resumable=False))

    resume = _recv(e2e, OP_RESUME, mark)
    assert resume
    assert resume[0].data["session_id"] == old_session
    invalid = [f for f in e2e.gateway.frames.items[mark:] if f.direction == "send" and f.op == 9]
    assert invalid
    assert invalid[0].data is False
    identify = _recv(e2e, OP_IDENTIFY, mark)
    assert len(identify) == 1
    assert identifies == [False]  # a re-IDENTIFY: the real client waits 5 s here
    assert list(e2e.gateway.sessions) != [old_session]
    # A fresh IDENTIFY goes to the configured gateway URL, not the resume URL.
    opened = [f for f in e2e.gateway.frames.items[mark:] if f.direction == "open"]
    assert opened[-1].path == "/gateway"
    question = await e2e.send_message("after the new session")
    assert e2e.bot.get_channel(question.channel_id) is not None


@pytest.mark.parametrize(
    ("resumable", "expected_op"),
    [(True, OP_RESUME), (False, OP_IDENTIFY)],
    ids=["resumable", "not-resumable"],
)
async def test_invalid_session_is_followed_by_resume_or_identify(e2e, resumable, expected_op):
    e2e.skip_identify_wait()
    mark = e2e.gateway.frames.mark()
    event = "resumed" if resumable else "ready"
    await e2e.wait_for_event(event, lambda: e2e.gateway.invalidate_session(resumable=resumable))
    assert _recv(e2e, expected_op, mark)
    other = OP_IDENTIFY if resumable else OP_RESUME
    assert not _recv(e2e, other, mark)


async def test_reconnect_request_resumes(e2e):
    mark = e2e.gateway.frames.mark()
    await e2e.wait_for_event("resumed", e2e.gateway.request_reconnect)
    assert _recv(e2e, OP_RESUME, mark)


async def test_bot_close_ends_the_session_cleanly(e2e):
    await e2e.stop()
    closes = [f for f in e2e.gateway.frames if f.direction == "close"]
    assert closes[-1].close_code == 1000
    assert not e2e.gateway.sessions


async def test_a_wrong_token_fails_login(emulator, harness, monkeypatch):
    monkeypatch.setattr(emulator.world, "token", "another-token")
    with pytest.raises(discord.LoginFailure):
        await harness.start()
    assert emulator.calls[0].status == 401
