"""`/config solved-tag`: a 👍 on the bot's answer from the member who opened a forum post tags the post solved."""

from __future__ import annotations

import logging

import pytest

from tests.e2e.cogs_helpers import embed, vote_ids
from tests.e2e.emulator import DefaultWorld, Perm


class WorldWithTaggingBot(DefaultWorld):
    """The bot may manage threads (the invite's optional permission); a second forum already uses five tags."""

    def __init__(self) -> None:
        super().__init__()
        self.bot_role.permissions |= Perm.MANAGE_THREADS
        self.busy_forum = self.guild.add_forum("busy-forum", tags=("one", "two", "three", "four", "five", "Solved"))


@pytest.fixture
def world() -> DefaultWorld:
    return WorldWithTaggingBot()


async def set_solved_tag(e2e, tag: str | None = None):
    options = {} if tag is None else {"tag": tag}
    return await (await e2e.slash("config solved-tag", user=e2e.world.moderator, **options)).reply()


async def answered_post(e2e, *, forum=None, tags=("imap",)):
    """A forum post opened by `member`, and the bot's answer in it (to `/ask`, which always answers with 👍 / 👎
    whatever the matcher's tuning); returns the post and the answer."""
    world = e2e.world
    post, _ = await e2e.create_forum_post(
        "Outlook cannot connect", "It says 0x800CCC0E", forum=forum or world.forum, author=world.member, tags=tags
    )
    answer = await (await e2e.slash("ask", question="0x800CCC0E", channel=post, user=world.member)).reply()
    return post, answer


def tag_edits(e2e, post, since: int):
    return [
        call
        for call in e2e.emulator.calls.items[since:]
        if call.method == "PATCH" and call.path == f"/channels/{post.id}" and "applied_tags" in (call.json or {})
    ]


async def test_the_posts_author_rating_the_answer_tags_the_post(e2e):
    world = e2e.world
    await set_solved_tag(e2e, "Solved")  # the forum's tag is "solved": names match whatever their case
    post, answer = await answered_post(e2e)
    up, _ = vote_ids(answer)
    mark = e2e.emulator.calls.mark()

    thanks = await (await e2e.click(answer, up, user=world.member)).reply()
    assert embed(thanks)["title"] == "Thanks!"
    assert "Marked this post **solved**." in thanks.text
    assert post.applied_tags == [world.forum.tag_id("imap"), world.forum.tag_id("solved")]

    # Rating it again changes nothing and says nothing more.
    again = await (await e2e.click(answer, up, user=world.member)).reply()
    assert "Marked" not in again.text
    await e2e.settle()
    assert len(tag_edits(e2e, post, mark)) == 1


async def test_nobody_else_can_mark_a_post_solved(e2e):
    world = e2e.world
    await set_solved_tag(e2e, "solved")
    post, answer = await answered_post(e2e)
    up, down = vote_ids(answer)
    mark = e2e.emulator.calls.mark()
    for user in (world.helper, world.moderator):
        thanks = await (await e2e.click(answer, up, user=user)).reply()
        assert "Marked" not in thanks.text
    # The author's 👎 does not either.
    await (await e2e.click(answer, down, user=world.member)).reply()
    await e2e.settle()
    assert tag_edits(e2e, post, mark) == []
    assert post.applied_tags == [world.forum.tag_id("imap")]


async def test_without_a_solved_tag_or_a_matching_tag_nothing_is_tagged(e2e):
    world = e2e.world
    post, answer = await answered_post(e2e)
    up, _ = vote_ids(answer)
    mark = e2e.emulator.calls.mark()
    assert "Marked" not in (await (await e2e.click(answer, up, user=world.member)).reply()).text
    await set_solved_tag(e2e, "Answered")  # no forum has it
    assert "Marked" not in (await (await e2e.click(answer, up, user=world.member)).reply()).text
    await e2e.settle()
    assert tag_edits(e2e, post, mark) == []


async def test_a_post_with_five_tags_is_left_as_it_is(e2e):
    world = e2e.world
    await set_solved_tag(e2e, "solved")
    post, answer = await answered_post(e2e, forum=world.busy_forum, tags=("one", "two", "three", "four", "five"))
    mark = e2e.emulator.calls.mark()
    thanks = await (await e2e.click(answer, vote_ids(answer)[0], user=world.member)).reply()
    assert "already has 5 tags" in thanks.text
    await e2e.settle()
    assert tag_edits(e2e, post, mark) == []


async def test_without_manage_threads_the_author_is_told_and_a_warning_logged(e2e, caplog):
    caplog.set_level(logging.WARNING, logger="bot.exts.feedback")
    world = e2e.world
    world.bot_role.permissions &= ~Perm.MANAGE_THREADS  # invited without the optional permission
    await set_solved_tag(e2e, "solved")
    post, answer = await answered_post(e2e)
    mark = e2e.emulator.calls.mark()
    thanks = await (await e2e.click(answer, vote_ids(answer)[0], user=world.member)).reply()
    assert embed(thanks)["title"] == "Thanks!"  # the vote itself counts
    assert "I couldn't mark this post solved: I need the Manage Threads permission." in thanks.text
    (warning,) = [r for r in caplog.records if r.name == "bot.exts.feedback"]
    assert (warning.levelname, warning.exc_info) == ("WARNING", None)
    assert "Manage Threads" in warning.getMessage()
    await e2e.settle()
    assert tag_edits(e2e, post, mark) == []
    assert post.applied_tags == [world.forum.tag_id("imap")]


async def test_config_solved_tag_set_show_and_clear(e2e):
    world = e2e.world
    # Autocomplete offers the forums' tag names, each once whatever its case.
    assert [c["value"] for c in await e2e.autocomplete("config solved-tag", "tag", tag="sol")] == ["solved"]
    every = [c["value"] for c in await e2e.autocomplete("config solved-tag", "tag", tag="")]
    assert every == ["imap", "smtp", "pop3", "solved", "one", "two", "three", "four", "five"]

    reply = await set_solved_tag(e2e, "  Solved ")
    assert reply.ephemeral
    assert "Solved tag set to **Solved**" in reply.content
    assert f"forums that have it: <#{world.forum.id}> <#{world.busy_forum.id}>." in reply.content
    assert (await e2e.bot.storage.guild_config(world.guild.id)).solved_tag == "Solved"
    shown = await (await e2e.slash("config show", user=world.moderator)).reply()
    assert "**Solved**" in next(f["value"] for f in embed(shown)["fields"] if f["name"] == "Solved tag")

    reply = await set_solved_tag(e2e, "Answered")
    assert "no forum here has a tag of that name yet" in reply.content
    assert (await e2e.bot.storage.guild_config(world.guild.id)).solved_tag == "Answered"

    refused = await set_solved_tag(e2e, "   ")
    assert "1 to 20 characters" in refused.text
    assert (await e2e.bot.storage.guild_config(world.guild.id)).solved_tag == "Answered"

    cleared = await set_solved_tag(e2e)
    assert "cleared" in cleared.content
    assert (await e2e.bot.storage.guild_config(world.guild.id)).solved_tag is None
