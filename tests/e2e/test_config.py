"""`/config` (moderators): answering per channel, confidence, cooldowns, moderator role, `/config show`."""

from __future__ import annotations

import pytest

from tests.e2e.cogs_helpers import embed, enable_channel, pick_question, shown_entry
from tests.e2e.emulator import CommandNotAvailable, DefaultWorld, Perm

MANAGE_GUILD = str(int(Perm.MANAGE_GUILD))


class WorldWithHelpers(DefaultWorld):
    """`helper` has a Helpers role without any moderator permission."""

    def __init__(self) -> None:
        super().__init__()
        self.helpers_role = self.guild.add_role("Helpers", 0)
        self.guild.members[self.helper.id].roles.append(self.helpers_role.id)


@pytest.fixture
def world() -> DefaultWorld:
    return WorldWithHelpers()


def field(message, name: str) -> str:
    return next(f["value"] for f in embed(message)["fields"] if f["name"] == name)


async def test_moderator_commands_are_hidden_from_members_by_default(e2e):
    for name in ("config", "kb"):
        command = e2e.command(name)
        assert command["default_member_permissions"] == MANAGE_GUILD
        assert command.get("contexts") in (None, [0])  # servers only
    assert e2e.command("ask").get("default_member_permissions") is None
    with pytest.raises(CommandNotAvailable):
        await e2e.slash("config show", user=e2e.world.member)


async def test_config_refused_for_a_non_moderator_at_invocation(e2e):
    world = e2e.world
    # A server can let more members see the command (integration settings); the bot still checks.
    inter = await e2e.slash("config channel", user=world.member, force=True, enabled=True, channel=world.help)
    refusal = await inter.reply()
    assert refusal.ephemeral
    assert embed(refusal)["title"] == "Not allowed"
    assert "Manage Server" in refusal.text
    config = await e2e.bot.storage.guild_config(world.guild.id)
    assert config.enabled_channels == frozenset()
    for name in ("config show", "kb stats", "kb reload"):
        refusal = await (await e2e.slash(name, user=world.helper, force=True)).reply()
        assert embed(refusal)["title"] == "Not allowed"


async def test_config_show_defaults_then_changes(e2e):
    world = e2e.world
    shown = await (await e2e.slash("config show", user=world.moderator)).reply()
    assert shown.ephemeral
    assert "Nowhere yet" in field(shown, "Answers on its own in")
    assert field(shown, "Confidence").startswith("normal (bot default)")
    assert field(shown, "Cooldown").startswith("60 s (bot default)")
    assert field(shown, "Per-member limit").startswith("5 answers per 60 s (bot default)")
    assert field(shown, "Moderator role").startswith("None")

    await enable_channel(e2e, world.help)
    await enable_channel(e2e, world.forum)
    await (await e2e.slash("config confidence", user=world.owner, level="strict")).reply()
    await (await e2e.slash("config cooldowns", user=world.owner, answer_seconds=5.5, user_limit=9)).reply()
    changed = await (
        await e2e.slash("config moderator-role", user=world.owner, role=world.helpers_role)
    ).reply()
    assert (
        f"<@&{world.helpers_role.id}>" in changed.content
    )  # shown, and (checked by the emulator) not pinged

    shown = await (await e2e.slash("config show", user=world.moderator)).reply()
    assert field(shown, "Answers on its own in") == f"<#{world.help.id}> <#{world.forum.id}>"
    assert field(shown, "Confidence").startswith("strict —")
    assert field(shown, "Cooldown").startswith("5.5 s before")
    assert field(shown, "Per-member limit") == "9 answers per 60 s"
    assert field(shown, "Moderator role") == f"<@&{world.helpers_role.id}>"

    await (await e2e.slash("config cooldowns", user=world.owner, reset=True)).reply()
    await enable_channel(e2e, world.forum, enabled=False)
    config = await e2e.bot.storage.guild_config(world.guild.id)
    assert config.enabled_channels == {world.help.id}
    assert (config.answer_cooldown_seconds, config.user_rate_limit) == (None, None)


async def test_config_channel_defaults_to_the_current_channel(e2e):
    world = e2e.world
    reply = await (
        await e2e.slash("config channel", user=world.moderator, channel=world.general, enabled=True)
    ).reply()
    assert f"<#{world.general.id}>" in reply.content
    reply = await (await e2e.slash("config channel", user=world.moderator, enabled=True)).reply()
    assert f"<#{world.help.id}>" in reply.content  # the harness runs commands in #help
    config = await e2e.bot.storage.guild_config(world.guild.id)
    assert config.enabled_channels == {world.general.id, world.help.id}


async def test_cooldowns_without_values_says_what_to_give(e2e):
    reply = await (await e2e.slash("config cooldowns", user=e2e.world.moderator)).reply()
    assert reply.ephemeral
    assert "answer_seconds" in reply.text


async def test_moderator_role_lets_its_members_configure(e2e):
    world = e2e.world
    refused = await (await e2e.slash("config show", user=world.helper, force=True)).reply()
    assert embed(refused)["title"] == "Not allowed"
    await (await e2e.slash("config moderator-role", user=world.owner, role=world.helpers_role)).reply()
    allowed = await (await e2e.slash("config show", user=world.helper, force=True)).reply()
    assert embed(allowed)["title"] == "Guide Nest settings for this server"
    cleared = await (await e2e.slash("config moderator-role", user=world.owner)).reply()
    assert "cleared" in cleared.content
    refused = await (await e2e.slash("config show", user=world.helper, force=True)).reply()
    assert embed(refused)["title"] == "Not allowed"


async def test_confidence_level_changes_what_is_answered(e2e):
    world = e2e.world
    await enable_channel(e2e, world.help)
    only_relaxed, relaxed_entry = pick_question(e2e, normal=False, relaxed=True)
    not_strict, _ = pick_question(e2e, other_than=relaxed_entry, strict=False, normal=True)
    mark = e2e.emulator.created_messages.mark()
    await e2e.send_message(only_relaxed)
    await e2e.expect_no_bot_message(mark, channel=world.help)

    await (await e2e.slash("config confidence", user=world.moderator, level="relaxed")).reply()
    question = await e2e.send_message(only_relaxed, author=world.helper)
    assert shown_entry(await e2e.wait_for_reply(question)) == relaxed_entry

    await (await e2e.slash("config confidence", user=world.moderator, level="strict")).reply()
    mark = e2e.emulator.created_messages.mark()
    await e2e.send_message(not_strict)
    await e2e.expect_no_bot_message(mark, channel=world.help)

    await (await e2e.slash("config confidence", user=world.moderator, level="default")).reply()
    question = await e2e.send_message(not_strict, author=world.owner)
    assert shown_entry(await e2e.wait_for_reply(question)) is not None
