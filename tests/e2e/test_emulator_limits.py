"""Every Discord limit the emulator checks catches a bad request made through the real client.

Each bad request must be answered as Discord answers it (HTTP 400, code 50035, the field named in `errors`)
and recorded as a violation, which would fail the test at teardown; here each is asserted, then removed. Where
discord.py refuses a bad value itself (more than 10 embeds, command names), the request is sent through the
client's own HTTP layer, `bot.http`, as a buggy caller could.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import discord
import pytest
from discord import app_commands
from discord.http import Route

from tests.e2e.sample_commands import ReportModal, Seen, add_sample_commands

pytestmark = pytest.mark.without_cogs

Request = Callable[[], Awaitable[Any]]


def _embed(**fields: Any) -> discord.Embed:
    return discord.Embed(**fields)


def _button(custom_id: str, label: str = "b") -> dict[str, Any]:
    return {"type": 2, "style": 1, "label": label, "custom_id": custom_id}


def _row(*components: dict[str, Any]) -> dict[str, Any]:
    return {"type": 1, "components": list(components)}


def _select(custom_id: str, options: int) -> dict[str, Any]:
    return {
        "type": 3,
        "custom_id": custom_id,
        "options": [{"label": f"option {i}", "value": f"v{i}"} for i in range(options)],
    }


async def _expect_rejected(e2e, request: Request, path: str, code: str | None = None) -> None:
    """The request fails with Discord's 400/50035 naming `path`, and exactly that violation was recorded."""
    with pytest.raises(discord.HTTPException) as error:
        await request()
    assert (error.value.status, error.value.code) == (400, 50035)
    assert path in str(error.value)  # discord.py flattens `errors` into "In <path>: <message>"
    violations = e2e.emulator.take_violations()
    assert [v.rule for v in violations] == ["limits"], violations
    problems = violations[0].problems
    assert any(p.path == path and (code is None or p.code == code) for p in problems), problems


def _raw_message(e2e, payload: dict[str, Any]) -> Request:
    route = Route("POST", "/channels/{channel_id}/messages", channel_id=e2e.world.help.id)
    return lambda: e2e.bot.http.request(route, json=payload)


async def test_message_content_and_embed_limits(e2e, subtests):
    channel = e2e.bot.get_channel(e2e.world.help.id)
    many_fields = _embed(title="fields")
    for index in range(26):
        many_fields.add_field(name=f"n{index}", value="v")
    cases: dict[str, tuple[Request, str, str | None]] = {
        "content over 2,000": (lambda: channel.send("x" * 2001), "content", "BASE_TYPE_MAX_LENGTH"),
        "embed title over 256": (lambda: channel.send(embed=_embed(title="t" * 257)), "embeds.0.title", None),
        "embed description over 4,096": (
            lambda: channel.send(embed=_embed(description="d" * 4097)),
            "embeds.0.description",
            None,
        ),
        "more than 25 fields": (lambda: channel.send(embed=many_fields), "embeds.0.fields", None),
        "field name over 256": (
            lambda: channel.send(embed=_embed().add_field(name="n" * 257, value="v")),
            "embeds.0.fields.0.name",
            None,
        ),
        "field value over 1,024": (
            lambda: channel.send(embed=_embed().add_field(name="n", value="v" * 1025)),
            "embeds.0.fields.0.value",
            None,
        ),
        "empty field value": (
            lambda: channel.send(embed=_embed().add_field(name="n", value="")),
            "embeds.0.fields.0.value",
            None,
        ),
        "footer over 2,048": (
            lambda: channel.send(embed=_embed(title="t").set_footer(text="f" * 2049)),
            "embeds.0.footer.text",
            None,
        ),
        "author name over 256": (
            lambda: channel.send(embed=_embed(title="t").set_author(name="a" * 257)),
            "embeds.0.author.name",
            None,
        ),
        "embeds over 6,000 in total": (
            lambda: channel.send(embeds=[_embed(description="d" * 3000), _embed(description="d" * 3001)]),
            "embeds",
            "MAX_EMBED_SIZE_EXCEEDED",
        ),
        "more than 10 embeds": (
            _raw_message(e2e, {"embeds": [{"title": str(i)} for i in range(11)]}),
            "embeds",
            "BASE_TYPE_MAX_LENGTH",
        ),
    }
    for name, (request, path, code) in cases.items():
        with subtests.test(name):
            await _expect_rejected(e2e, request, path, code)
    assert e2e.emulator.bot_messages() == []


async def test_component_limits(e2e, subtests):
    channel = e2e.bot.get_channel(e2e.world.help.id)
    long_id_view = discord.ui.View()
    long_id_view.add_item(discord.ui.Button(label="long", custom_id="c" * 101))
    cases: dict[str, tuple[Request, str, str | None]] = {
        "more than 5 rows": (
            _raw_message(e2e, {"content": "rows", "components": [_row(_button(f"r{i}")) for i in range(6)]}),
            "components",
            "BASE_TYPE_MAX_LENGTH",
        ),
        "more than 5 buttons in a row": (
            _raw_message(
                e2e, {"content": "row", "components": [_row(*[_button(f"b{i}") for i in range(6)])]}
            ),
            "components.0.components",
            "BASE_TYPE_MAX_LENGTH",
        ),
        "custom_id over 100": (
            lambda: channel.send("long id", view=long_id_view),
            "components.custom_id",
            "BASE_TYPE_MAX_LENGTH",
        ),
        "select with more than 25 options": (
            _raw_message(e2e, {"content": "select", "components": [_row(_select("s", 26))]}),
            "components.0.components.0.options",
            None,
        ),
        "select sharing a row": (
            _raw_message(e2e, {"content": "s", "components": [_row(_select("s", 2), _button("b"))]}),
            "components.0.components",
            "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
        ),
        "duplicate custom_id": (
            _raw_message(e2e, {"content": "dup", "components": [_row(_button("same"), _button("same"))]}),
            "components",
            "COMPONENT_CUSTOM_ID_DUPLICATED",
        ),
        "button label over 80": (
            _raw_message(e2e, {"content": "label", "components": [_row(_button("b", "l" * 81))]}),
            "components.0.components.0.label",
            None,
        ),
    }
    for name, (request, path, code) in cases.items():
        with subtests.test(name):
            await _expect_rejected(e2e, request, path, code)


async def test_requests_at_the_limits_pass(e2e):
    channel = e2e.bot.get_channel(e2e.world.help.id)
    await channel.send("x" * 2000)
    full = _embed(title="t" * 256, description="d" * 4096).set_footer(text="f" * 398)
    for index in range(25):
        full.add_field(name=f"{index:02d}", value="v" * 48)  # 25 x 50: the total stays at 6,000
    await channel.send(embed=full)
    await channel.send(embeds=[_embed(title=str(i)) for i in range(10)])
    rows = [_row(*[_button(f"{r}{b}" + "i" * 98) for b in range(5)]) for r in range(5)]
    await _raw_message(e2e, {"content": "full grid", "components": rows})()
    await _raw_message(e2e, {"content": "full select", "components": [_row(_select("s", 25))]})()
    assert len(e2e.emulator.bot_messages()) == 5


async def test_an_empty_message_is_refused_like_discord(e2e):
    with pytest.raises(discord.HTTPException) as error:
        await _raw_message(e2e, {"content": "", "embeds": []})()
    assert (error.value.status, error.value.code) == (400, 50006)


async def test_a_message_that_would_ping_is_a_policy_violation(e2e):
    channel = e2e.bot.get_channel(e2e.world.help.id)
    member = e2e.world.member
    await channel.send(f"hi {member.mention}")  # the factory's AllowedMentions.none(): no ping, no violation
    assert e2e.emulator.violations == []
    await channel.send(f"hi {member.mention}", allowed_mentions=discord.AllowedMentions(users=True))
    await channel.send("@everyone look", allowed_mentions=discord.AllowedMentions(everyone=True))
    pings = e2e.emulator.take_violations("no-pings")
    assert [p.problems[0].message for p in pings] == [
        f"the message would ping <@{member.id}>",
        "the message would ping @everyone/@here",
    ]


async def test_limits_apply_to_edits_and_forum_posts(e2e, subtests):
    channel = e2e.bot.get_channel(e2e.world.help.id)
    forum = e2e.bot.get_channel(e2e.world.forum.id)
    sent = await channel.send("short")
    cases: dict[str, tuple[Request, str, str | None]] = {
        "edited content over 2,000": (lambda: sent.edit(content="x" * 2001), "content", "BASE_TYPE_MAX_LENGTH"),
        "edited embed title over 256": (lambda: sent.edit(embed=_embed(title="t" * 257)), "embeds.0.title", None),
        "forum post over 2,000": (
            lambda: forum.create_thread(name="post", content="x" * 2001),
            "message.content",
            "BASE_TYPE_MAX_LENGTH",
        ),
    }
    for name, (request, path, code) in cases.items():
        with subtests.test(name):
            await _expect_rejected(e2e, request, path, code)
    assert e2e.emulator.message(sent.id).content == "short"


async def test_thread_name_limit(e2e):
    channel = e2e.bot.get_channel(e2e.world.help.id)
    await _expect_rejected(
        e2e, lambda: channel.create_thread(name="n" * 101, type=discord.ChannelType.public_thread), "name"
    )


def _command(**overrides: Any) -> dict[str, Any]:
    command = {"name": "good", "description": "A good command", "type": 1, "options": []}
    command.update(overrides)
    return command


def _option(name: str = "opt", **overrides: Any) -> dict[str, Any]:
    option = {"name": name, "description": "An option", "type": 3}
    option.update(overrides)
    return option


async def test_command_registration_limits(e2e, subtests):
    app_id, guild_id = e2e.world.application_id, e2e.world.guild.id

    def sync(*commands: dict[str, Any]) -> Request:
        return lambda: e2e.bot.http.bulk_upsert_guild_commands(app_id, guild_id, list(commands))

    cases: dict[str, tuple[Request, str, str | None]] = {
        "upper-case name": (sync(_command(name="Ask")), "0.name", "APPLICATION_COMMAND_INVALID_NAME"),
        "name over 32": (sync(_command(name="n" * 33)), "0.name", "BASE_TYPE_BAD_LENGTH"),
        "name with a space": (sync(_command(name="two words")), "0.name", "APPLICATION_COMMAND_INVALID_NAME"),
        "description over 100": (sync(_command(description="d" * 101)), "0.description", None),
        "empty description": (sync(_command(description="")), "0.description", None),
        "upper-case option name": (
            sync(_command(options=[_option("Host")])),
            "0.options.0.name",
            "APPLICATION_COMMAND_INVALID_NAME",
        ),
        "option name over 32": (
            sync(_command(options=[_option("o" * 33)])),
            "0.options.0.name",
            "BASE_TYPE_BAD_LENGTH",
        ),
        "option description over 100": (
            sync(_command(options=[_option(description="d" * 101)])),
            "0.options.0.description",
            None,
        ),
        "more than 25 options": (
            sync(_command(options=[_option(f"o{i}") for i in range(26)])),
            "0.options",
            "BASE_TYPE_MAX_LENGTH",
        ),
        "more than 25 choices": (
            sync(_command(options=[_option(choices=[{"name": str(i), "value": str(i)} for i in range(26)])])),
            "0.options.0.choices",
            None,
        ),
        "choice name over 100": (
            sync(_command(options=[_option(choices=[{"name": "c" * 101, "value": "v"}])])),
            "0.options.0.choices.0.name",
            None,
        ),
        "required option after an optional one": (
            sync(_command(options=[_option("first"), _option("second", required=True)])),
            "0.options.1.required",
            None,
        ),
        "duplicate command names": (
            sync(_command(), _command()),
            "1.name",
            "APPLICATION_COMMANDS_DUPLICATE_NAME",
        ),
    }
    for name, (request, path, code) in cases.items():
        with subtests.test(name):
            await _expect_rejected(e2e, request, path, code)
    # The commands registered at start are untouched by the refused syncs.
    assert [c["name"] for c in e2e.commands()] == []
    await sync(_command(options=[_option("host", required=True), _option("port", type=4)]))()
    assert [c["name"] for c in e2e.commands()] == ["good"]


@pytest.fixture
def seen() -> Seen:
    return Seen()


@pytest.fixture
async def app(harness, seen):
    bot = harness.build()
    add_sample_commands(bot, seen)

    @bot.tree.command(name="emu-long-edit", description="Defers, then edits with too much text")
    async def long_edit(interaction: discord.Interaction) -> None:
        await interaction.response.defer()
        await interaction.edit_original_response(content="x" * 2001)

    @bot.tree.command(name="emu-long-followup", description="Answers, then follows up with too much text")
    async def long_followup(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("first")
        await interaction.followup.send(embed=_embed(title="t" * 257))

    @bot.tree.command(name="emu-big-modal", description="Opens a modal with a title over 45")
    async def big_modal(interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(ReportModal(seen, title="t" * 46))

    await harness.start()
    return harness


def _take_command_error(log_guard, fragment: str) -> None:
    """The command raised the 400 as HTTPException; the tree logged it; the guard caught it."""
    taken = log_guard.take(lambda record: fragment in str(record.exc_info))
    assert taken, f"no logged error mentioning {fragment!r}"


async def test_limits_apply_to_interaction_replies_edits_and_follow_ups(app, seen, log_guard):
    seen.reply_text = "x" * 2001
    interaction = await app.slash("emu echo", text="too long")
    callback = await app.wait_for_call(path=f"/interactions/{interaction.id}/.*/callback")
    assert callback.status == 400
    assert "content" in callback.response["errors"]["data"]
    await app.settle()
    assert app.emulator.take_violations("limits")[0].problems[0].path == "data.content"
    _take_command_error(log_guard, "50035")
    interaction.expect_no_response()

    edited = await app.slash("emu-long-edit")
    edit = await app.wait_for_call(method="PATCH", path=r"/webhooks/\d+/.*/messages/@original")
    assert edit.status == 400
    await app.settle()
    assert app.emulator.take_violations("limits")[0].problems[0].path == "content"
    _take_command_error(log_guard, "50035")
    assert edited.response_type == 5

    await app.slash("emu-long-followup")
    followup = await app.wait_for_call(method="POST", path=r"/webhooks/\d+/.*")
    assert followup.status == 400
    await app.settle()
    assert app.emulator.take_violations("limits")[0].problems[0].path == "embeds.0.title"
    _take_command_error(log_guard, "50035")


async def test_autocomplete_limits(app, seen, log_guard, subtests):
    cases = {
        "more than 25 choices": (
            [app_commands.Choice(name=f"c{i}", value=f"c{i}") for i in range(26)],
            "data.choices",
        ),
        "choice name over 100": ([app_commands.Choice(name="c" * 101, value="c")], "data.choices.0.name"),
        "choice value over 100": ([app_commands.Choice(name="c", value="v" * 101)], "data.choices.0.value"),
    }
    for name, (choices, path) in cases.items():
        with subtests.test(name):
            seen.choices = choices
            record = await app.emulator.inject_autocomplete(
                "emu port", "service", {"service": "i"}, user=app.world.member, channel=app.world.help
            )
            call = await app.wait_for_call(path=f"/interactions/{record.id}/.*/callback")
            assert call.status == 400
            await app.settle()
            (violation,) = app.emulator.take_violations("limits")
            assert violation.problems[0].path == path
            _take_command_error(log_guard, "50035")
            record.expect_no_response = True
    seen.choices = [app_commands.Choice(name=f"c{i}", value=f"c{i}") for i in range(25)]
    assert len(await app.autocomplete("emu port", "service", service="i")) == 25


async def test_modal_limits(app, log_guard):
    opened = await app.slash("emu-big-modal")
    call = await app.wait_for_call(path=f"/interactions/{opened.id}/.*/callback")
    assert call.status == 400
    await app.settle()
    assert app.emulator.take_violations("limits")[0].problems[0].path == "data.title"
    _take_command_error(log_guard, "50035")
    opened.expect_no_response()
