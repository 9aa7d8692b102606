"""Slash commands, autocomplete, components and modals travel through the real client and back."""

from __future__ import annotations

import aiohttp
import discord
import pytest

from tests.e2e.emulator import CommandNotAvailable
from tests.e2e.emulator.state import MESSAGE_FLAG_EPHEMERAL, Perm
from tests.e2e.harness import Interaction
from tests.e2e.sample_commands import PersistentView, Seen, add_sample_commands

pytestmark = pytest.mark.without_cogs


@pytest.fixture
def seen() -> Seen:
    return Seen()


@pytest.fixture
async def app(harness, seen):
    """The factory-built bot with the sample commands added before it logs in (and syncs)."""
    add_sample_commands(harness.build(), seen)
    await harness.start()
    return harness


def _option(command, *path):
    options = command["options"]
    for name in path:
        found = next(option for option in options if option["name"] == name)
        options = found.get("options", [])
    return found


async def test_guild_sync_keeps_names_options_and_permissions(app):
    registered = {command["name"]: command for command in app.commands()}
    assert {"emu", "emu-admin"} <= set(registered)
    emu = registered["emu"]
    assert emu["guild_id"] == str(app.world.guild.id)
    assert emu["application_id"] == str(app.world.application_id)
    assert {option["name"] for option in emu["options"]} >= {
        "echo",
        "slow",
        "security",
        "port",
        "panel",
        "form",
    }
    echo = _option(emu, "echo")
    assert echo["type"] == 1  # a subcommand
    assert {o["name"]: (o["type"], o.get("required", False)) for o in echo["options"]} == {
        "text": (3, True),
        "count": (4, False),
        "flag": (5, False),
        "who": (6, False),
        "where": (7, False),
        "private": (5, False),
    }
    count = _option(emu, "echo", "count")
    assert (count["min_value"], count["max_value"]) == (1, 10)
    assert _option(emu, "port", "service")["autocomplete"] is True
    assert [c["value"] for c in _option(emu, "security", "mode")["choices"]] == ["ssl", "starttls"]
    assert registered["emu-admin"]["default_member_permissions"] == str(int(Perm.MANAGE_GUILD))
    assert emu["default_member_permissions"] is None
    # Nothing was registered globally when a dev guild is set.
    assert app.commands(None) == []


@pytest.mark.parametrize("settings_overrides", [{"dev_guild": None}])
async def test_without_a_dev_guild_commands_sync_globally(harness, seen):
    add_sample_commands(harness.build(), seen)
    await harness.start()
    assert {"emu", "emu-admin"} <= {command["name"] for command in harness.commands(None)}
    assert harness.emulator.calls.find(lambda c: c.matches("PUT", "/applications/{id}/commands"))
    # A global command runs in the guild too (no data.guild_id on the interaction).
    reply = await (await harness.slash("emu echo", text="global")).reply()
    assert reply.content == "global x1"


async def test_options_arrive_typed_and_the_reply_is_recorded(app, seen):
    world = app.world
    interaction = await app.slash(
        "emu echo", text="hello", count=3, flag=True, who=world.moderator, where=world.general
    )
    reply = await interaction.reply()
    assert reply.content == "hello x3"
    assert interaction.response_type == 4
    assert not reply.ephemeral
    got = seen.calls["echo"]
    assert (got["text"], got["count"], got["flag"]) == ("hello", 3, True)
    assert isinstance(got["who"], discord.Member)
    assert got["who"].id == world.moderator.id
    assert isinstance(got["where"], discord.TextChannel)
    assert got["where"].id == world.general.id
    callback = await interaction.ack()
    assert callback.json["data"]["allowed_mentions"] == {"parse": []}  # AllowedMentions.none()
    assert callback.authorization is None  # callbacks authenticate by the token in the path


async def test_an_ephemeral_reply_is_flagged_and_not_dispatched(app):
    mark = app.gateway.frames.mark()
    reply = await (await app.slash("emu echo", text="secret", private=True)).reply()
    assert reply.ephemeral
    assert reply.flags & MESSAGE_FLAG_EPHEMERAL
    await app.settle()
    assert not app.gateway.frames.find(lambda f: f.event == "MESSAGE_CREATE", mark)


async def test_option_values_are_checked_like_discords_client(app):
    with pytest.raises(ValueError, match="above 10"):
        await app.slash("emu echo", text="x", count=11)
    with pytest.raises(ValueError, match="required"):
        await app.slash("emu echo", count=2)
    with pytest.raises(ValueError, match="unknown options"):
        await app.slash("emu echo", text="x", colour="red")
    with pytest.raises(TypeError):
        await app.slash("emu echo", text="x", count="3")
    with pytest.raises(ValueError, match="choices"):
        await app.slash("emu security", mode="plaintext")
    with pytest.raises(LookupError, match="needs a subcommand"):
        await app.slash("emu")
    with pytest.raises(LookupError, match="no command"):
        await app.slash("nonexistent")
    reply = await (await app.slash("emu security", mode="starttls")).reply()
    assert reply.content == "STARTTLS"


async def test_default_member_permissions_hide_the_command_from_members(app, seen):
    with pytest.raises(CommandNotAvailable):
        await app.slash("emu-admin", user=app.world.member)
    reply = await (await app.slash("emu-admin", user=app.world.moderator)).reply()
    assert reply.content == "Admin OK"
    # The interaction carries the member's roles and computed permissions.
    assert seen.calls["admin"] == {"manage_guild": True, "roles": ["@everyone", "Moderator"]}
    # An admin may open the command to everyone (Integrations settings); the bot then sees no permission.
    await (await app.slash("emu-admin", user=app.world.member, force=True)).reply()
    assert seen.calls["admin"] == {"manage_guild": False, "roles": ["@everyone"]}


async def test_deferred_reply_is_edited_then_followed_up(app):
    interaction = await app.slash("emu slow")
    reply = await interaction.reply()
    assert interaction.response_type == 5
    assert reply.content == "Done thinking"
    followup = await interaction.followup(1)
    assert followup.content == "And a follow-up"
    paths = [(c.method, c.path) for c in app.emulator.calls if "/webhooks/" in c.path]
    app_id, token = app.world.application_id, interaction.record.token
    assert paths == [
        ("PATCH", f"/webhooks/{app_id}/{token}/messages/@original"),
        ("POST", f"/webhooks/{app_id}/{token}"),
    ]


async def test_autocomplete_offers_choices_for_the_focused_option(app):
    choices = await app.autocomplete("emu port", "service", service="ima")
    assert [choice["name"] for choice in choices] == ["imap", "imaps"]


async def test_buttons_select_and_modal(app, seen):
    world = app.world
    panel = await (await app.slash("emu panel")).reply()
    assert set(panel.custom_ids()) == {"emu:more", "emu:refresh", "emu:report", "emu:pick"}

    # A button answered with an update of its message (type 7).
    more = await app.click(panel, "emu:more", user=world.moderator)
    updated = await more.reply()
    assert more.response_type == 7
    assert updated.id == panel.id
    assert updated.content == "More details"
    assert updated.component("emu:more")["disabled"] is True
    assert seen.calls["more"] == {"user": world.moderator.id}
    with pytest.raises(ValueError, match="disabled"):
        await app.click(panel, "emu:more")

    # A deferred update (type 6), then an edit of the original message.
    refresh = await app.click(panel, "emu:refresh")
    assert (await refresh.reply()).content == "Refreshed"
    assert refresh.response_type == 6

    # A select with two values, answered with a new ephemeral message (type 4).
    picked = await (await app.select(panel, "emu:pick", ["imap", "smtp"])).reply()
    assert picked.content == "Picked imap, smtp"
    assert picked.ephemeral
    with pytest.raises(ValueError, match="offers only"):
        await app.select(panel, "emu:pick", ["gopher"])

    # A button that opens a modal (type 9), and the modal's submission.
    opened = await app.click(panel, "emu:report")
    modal = await opened.modal()
    assert modal["title"] == "Report a wrong answer"
    with pytest.raises(ValueError, match="required"):
        await app.submit_modal(opened, {"emu:contact": "me"})
    submitted = await app.submit_modal(opened, {"emu:reason": "wrong port"})
    thanks = await submitted.reply()
    assert thanks.content == "Thanks: wrong port"
    assert seen.calls["modal"] == {"reason": "wrong port", "contact": ""}


async def test_a_slash_command_can_open_a_modal(app, seen):
    opened = await app.slash("emu form")
    await opened.modal()
    await (await app.submit_modal(opened, {"emu:reason": "typo", "emu:contact": "dm me"})).reply()
    assert seen.calls["modal"] == {"reason": "typo", "contact": "dm me"}


async def test_persistent_view_works_after_a_restart(app, seen):
    channel = app.bot.get_channel(app.world.help.id)
    app.bot.add_view(PersistentView(seen))
    sent = await channel.send("Was this helpful?", view=PersistentView(seen))
    database = app.settings.database_path
    first_bot = app.bot

    second_bot = await app.restart()
    assert second_bot is not first_bot
    assert first_bot.is_closed()
    assert app.settings.database_path == database
    second_bot.add_view(PersistentView(seen))  # what the bot does in setup_hook for its own views
    message = app.emulator.message(sent.id)
    thanks = await (await app.click(message, "emu:helpful")).reply()
    assert thanks.content == "Thanks for the feedback"
    assert seen.calls["helpful"]["user"] == app.world.member.id


async def test_a_second_acknowledgement_is_refused(app):
    interaction = await app.slash("emu echo", text="once")
    await interaction.reply()
    url = f"{app.emulator.api_base}/interactions/{interaction.id}/{interaction.record.token}/callback"
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, json={"type": 4, "data": {"content": "twice"}}) as response,
    ):
        assert response.status == 400
        assert (await response.json())["code"] == 40060


async def test_a_callback_type_that_does_not_fit_the_interaction_is_refused(app, seen):
    seen.answer = False
    interaction = await app.slash("emu echo", text="quiet")
    await app.settle()
    url = f"{app.emulator.api_base}/interactions/{interaction.id}/{interaction.record.token}/callback"
    async with aiohttp.ClientSession() as session:
        # Choices answer autocomplete, not a slash command.
        async with session.post(url, json={"type": 8, "data": {"choices": []}}) as response:
            assert response.status == 400
        (violation,) = app.emulator.take_violations("interaction-response")
        assert violation.problems[0].code == "INTERACTION_RESPONSE_TYPE_INVALID"
        async with session.post(url, json={"type": 4, "data": {"content": "fine"}}) as response:
            assert response.status == 204  # without ?with_response Discord answers 204
    assert interaction.response_type == 4


async def test_an_answer_after_three_seconds_is_refused_and_reported(app, seen, log_guard):
    app.emulator.interaction_ack_timeout = 0.05
    seen.delay = 0.1
    interaction = await app.slash("emu echo", text="late")
    call = await app.wait_for_call(path=f"/interactions/{interaction.id}/.*/callback")
    assert call.status == 404
    assert call.response["code"] == 10062
    await app.settle()
    (violation,) = app.emulator.take_violations("interaction-timeout")
    assert "emu" in str(violation)
    # discord.py raised NotFound inside the command; the tree only logged it — the log guard caught it.
    assert log_guard.take(lambda record: "Unknown interaction" in record.getMessage() + str(record.exc_info))
    interaction.expect_no_response()


async def test_an_interaction_left_unanswered_is_reported(app, seen):
    seen.answer = False
    interaction = await app.slash("emu echo", text="ignored")
    await app.settle()
    assert [record.label for record in app.emulator.unanswered_interactions()] == ["/emu"]
    interaction.expect_no_response()
    assert app.emulator.unanswered_interactions() == []


async def test_message_context_menus_register_as_type_3_without_description_or_options(app):
    registered = {command["name"]: command for command in app.commands()}
    quote, moderate = registered["Emu Quote"], registered["Emu Moderate"]
    assert (quote["type"], quote["description"], quote["options"]) == (3, "", [])
    assert quote["default_member_permissions"] is None
    assert moderate["type"] == 3
    assert moderate["default_member_permissions"] == str(int(Perm.MANAGE_GUILD))
    # A slash command of the same name is a different command: a context menu is never found as one.
    with pytest.raises(LookupError, match="no command"):
        await app.slash("Emu Quote")


async def test_a_message_command_carries_its_target_message(app, seen):
    world = app.world
    target = await app.send_message("smtp 587 or 465?", author=world.helper)
    record = await app.emulator.inject_message_command("Emu Quote", target, user=world.member)
    payload = record.payload["data"]
    assert (payload["type"], payload["target_id"]) == (3, str(target.id))
    assert payload["resolved"]["messages"][str(target.id)]["content"] == "smtp 587 or 465?"
    reply = await Interaction(app.emulator, record).reply()
    assert reply.content == "Quoted: smtp 587 or 465?"
    assert reply.ephemeral
    assert seen.calls["quote"] == {
        "id": target.id,
        "author": world.helper.id,
        "channel": world.help.id,
        "content": "smtp 587 or 465?",
    }
    assert record.label == "context menu 'Emu Quote'"
    with pytest.raises(LookupError, match="no command"):
        await app.emulator.inject_message_command("Emu Unknown", target, user=world.member)
    await app.emulator.inject_delete(target)
    with pytest.raises(ValueError, match="deleted"):
        await app.emulator.inject_message_command("Emu Quote", target, user=world.member)


async def test_a_message_command_checks_default_member_permissions(app, seen):
    world = app.world
    target = await app.send_message("hello")
    with pytest.raises(CommandNotAvailable):
        await app.emulator.inject_message_command("Emu Moderate", target, user=world.member)
    record = await app.emulator.inject_message_command("Emu Moderate", target, user=world.moderator)
    assert (await Interaction(app.emulator, record).reply()).content == "Moderated"
    assert seen.calls["moderate"] == {"id": target.id, "manage_guild": True}
    # Opened to everyone in the server's integration settings: Discord delivers it, without the permission.
    record = await app.emulator.inject_message_command("Emu Moderate", target, user=world.member, force=True)
    await Interaction(app.emulator, record).reply()
    assert seen.calls["moderate"]["manage_guild"] is False


async def test_context_menu_registration_is_checked_like_discord(app):
    app_id, guild_id = app.world.application_id, app.world.guild.id

    async def sync(*commands: dict) -> None:
        await app.bot.http.bulk_upsert_guild_commands(app_id, guild_id, list(commands))

    async def refused(*commands: dict) -> list[str]:
        with pytest.raises(discord.HTTPException) as error:
            await sync(*commands)
        assert (error.value.status, error.value.code) == (400, 50035)
        (violation,) = app.emulator.take_violations("limits")
        return [f"{problem.path} {problem.code}" for problem in violation.problems]

    menu = {"name": "Find an answer", "type": 3}
    assert await refused({**menu, "description": "Finds it"}) == [
        "0.description APPLICATION_COMMAND_INVALID_DESCRIPTION"
    ]
    option = {"name": "text", "description": "Some text", "type": 3}
    assert await refused({**menu, "options": [option]}) == ["0.options APPLICATION_COMMAND_OPTIONS_INVALID"]
    assert await refused({**menu, "name": "n" * 33}) == ["0.name BASE_TYPE_BAD_LENGTH"]
    assert await refused({**menu, "type": 7}) == ["0.type BASE_TYPE_CHOICES"]
    assert await refused(*({"name": f"Menu {i}", "type": 3} for i in range(16))) == [" BASE_TYPE_MAX_LENGTH"]
    # Capitals and spaces are fine for a context menu; the same name may be a user and a message command.
    await sync(menu, {**menu, "type": 2}, *({"name": f"Menu {i}", "type": 3} for i in range(14)))
    assert sorted((c["type"], c["name"]) for c in app.commands())[:2] == [(2, "Find an answer"), (3, "Find an answer")]
