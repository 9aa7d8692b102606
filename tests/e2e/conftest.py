"""End-to-end fixtures: the real bot, built by the app factory `guidenest run` uses, against a local Discord
emulator (tests/e2e/emulator/) on 127.0.0.1.

Quick start
-----------
    async def test_answers_a_mention(e2e):            # e2e: the bot, started and ready
        question = await e2e.send_message("what port does imap use", mention_bot=True)
        answer = await e2e.wait_for_reply(question)    # a StoredMessage: Discord's payload in .data
        assert "993" in answer.text                    # .text: content + embed titles, descriptions, fields

Fixtures
--------
- `world`           the emulated server, a `DefaultWorld`: `guild`; text channels `general`, `help` (the
                    default channel), `announcements` (nobody may send, the bot included); `help_thread` (a
                    thread in help); `forum` (tags imap/smtp/pop3/solved) with `forum_post`; users `owner`,
                    `moderator` (Moderator role: Manage Server, Manage Messages, Manage Threads), `member`
                    (the default author), `helper`; `bot_user`, `bot_role`. Override the fixture in a test
                    module to change it (build on `World`: add_user, add_guild, guild.add_role/add_member/
                    add_text_channel/add_forum/add_thread).
- `emulator`        the started `DiscordEmulator` on an ephemeral port; discord.py's endpoints are patched to
                    it for the test.
- `e2e_settings`    `Settings` for the bot: emulator endpoints, token, `dev_guild` = the world's guild, a
                    database in tmp_path, the shipped knowledge. Override `settings_overrides` (a dict) to
                    change fields, e.g. `{"dev_guild": None}` for global command sync.
- `harness`         a `BotHarness` (tests/e2e/harness.py), not started: `bot = harness.build()` gives the
                    factory-built bot to add commands, listeners or views to; then `await harness.start()`.
- `e2e`             the same harness, started and ready (most tests want this one).
- `log_guard`       collects ERROR records from discord.py, the bot and asyncio.
- `bot_extensions`  None: the bot loads the app's EXTENSIONS, as `guidenest run` does. A module marked
                    `pytestmark = pytest.mark.without_cogs` (the emulator's own tests) gets the factory bot
                    without cogs, so the test alone decides what the bot does.
The shipped knowledge is loaded once per session and each bot gets a copy (`harness.share_knowledge = False`
before build() loads it anew).

The harness (waits are event-driven, default timeout 5 s, and fail listing what was seen instead)
------------------------------------------------------------------------------------------------
- Messages: `msg = await e2e.send_message(text, channel=…, author=…, mention_bot=True, reply_to=bot_msg)`;
  `await e2e.wait_for_reply(msg)` → the bot's next message in that channel (or in a thread opened on msg);
  `await e2e.wait_for_bot_message(channel, since=mark, predicate=…)`; `await e2e.expect_no_bot_message(
  since=mark)` settles, then asserts silence (`mark = e2e.emulator.created_messages.mark()`).
  Threads and forums: `thread, starter = await e2e.create_forum_post(title, text, tags=("imap",))`;
  `await e2e.create_thread(name, parent=…)`; or post in `world.help_thread` / `world.forum_post` with
  `channel=`. Reactions: `await e2e.react(msg, "👍", user=…)`.
- Slash commands: `inter = await e2e.slash("ask", question="imap port", user=world.moderator)`; subcommands
  as "kb reload"; `options={…}` for option names that clash with the keywords. Values are checked against
  what the bot registered (types, choices, ranges, required), and a member without the command's default
  permissions raises `CommandNotAvailable` (Discord hides the command) unless `force=True`.
  Then `await inter.reply()` → the message shown (types 4; 5 then edit or follow-up; 6 then edit; 7),
  `await inter.followup(1)`, `inter.response_type`, `await inter.ack()` → the callback RestCall.
- Autocomplete: `choices = await e2e.autocomplete("port", "service", service="ima")`.
- Components: `await e2e.click(msg, "custom-id")`, `await e2e.select(msg, "custom-id", ["value"])` →
  Interaction (the component must be on the message and enabled, as in Discord's client).
- Modals: `opened = await e2e.click(msg, "report")` or a slash command answered with type 9
  (`await opened.modal()` is its data); `done = await e2e.submit_modal(opened, {"field-custom-id": "text"})`.
- REST calls: `e2e.emulator.calls` (RestCall: method, path without /api/v10, query, json = the JSON body or
  multipart payload_json, files, status, response, fault); `await e2e.wait_for_call(method="POST",
  path="/channels/{id}/messages", predicate=lambda c: c.json["embeds"], since=e2e.emulator.calls.mark())`.
- Registered commands: `e2e.commands()` (dev guild), `e2e.commands(None)` (global), `e2e.command("ask")` →
  dicts as Discord stores them (name, description, options, default_member_permissions as a string…).
- Faults: `e2e.faults.rate_limit(method="POST", path="/channels/{id}/messages", retry_after=0.05)`,
  `e2e.faults.server_error(status=500, …)` (discord.py waits 1 s before retrying a 5xx). Gateway:
  `await e2e.gateway.drop(resumable=True|False, close_code=None)`, `await e2e.gateway.invalidate_session(
  resumable=…)`, `await e2e.gateway.request_reconnect()`; wait for the outcome with
  `await e2e.wait_for_event("resumed", trigger)`. A fresh IDENTIFY (and a second shard) makes discord.py wait
  5 s first: call `e2e.skip_identify_wait()` (after build/start) to skip it.
- Restart (persistent views, data in the database): `await e2e.restart()` closes the bot once its handlers
  finish and starts a new one from the factory, against the same emulator (messages, commands) and database.
- `await e2e.settle()` waits until the bot has read every event sent and no handler is still running.

What fails a test (checked at teardown, after settling)
-------------------------------------------------------
- an ERROR log record from discord.py, the bot or asyncio (e.g. "Ignoring exception in command …"); a test
  that provokes one on purpose takes it: `log_guard.take(lambda record: …)`;
- a violation recorded by the emulator: a request over Discord's limits (also answered 400/50035, as Discord
  does), a message that would ping someone (project policy: the bot never pings), an interaction answered
  after 3 s or with a callback type that does not fit, an API route the emulator lacks (extend server.py),
  an emulator bug. A test that violates on purpose asserts and removes them:
  `e2e.emulator.take_violations("limits")`;
- an interaction the bot never acknowledged (Discord shows "This interaction failed"), unless
  `inter.expect_no_response()`.
Run one emulated bot at a time per process: discord.py's endpoints are process-wide.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import discord
import pytest

import bot.app
from bot.settings import Settings
from tests.e2e.emulator import DefaultWorld, DiscordEmulator, World
from tests.e2e.harness import BotHarness, LogGuard, bot_failures, violation_failures

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator
    from pathlib import Path


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "without_cogs: run the factory-built bot without its extensions")


@pytest.fixture
def bot_extensions(request: pytest.FixtureRequest) -> tuple[str, ...] | None:
    return () if request.node.get_closest_marker("without_cogs") else None


@pytest.fixture
def world() -> World:
    return DefaultWorld()


@pytest.fixture
def log_guard() -> Iterator[LogGuard]:
    guard = LogGuard()
    guard.install()
    yield guard
    guard.uninstall()


@pytest.fixture
async def emulator(world: World, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[DiscordEmulator]:
    server = DiscordEmulator(world)
    await server.start()
    # The factory points these process-wide attributes at the settings' endpoints; monkeypatch restores them.
    monkeypatch.setattr(discord.http.Route, "BASE", server.api_base)
    monkeypatch.setattr(
        discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", discord.gateway.yarl.URL(server.gateway_url)
    )
    yield server
    await server.stop()
    failures = violation_failures(server)
    if failures:
        pytest.fail("\n".join(failures), pytrace=False)


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {}


@pytest.fixture
def e2e_settings(
    emulator: DiscordEmulator,
    tmp_path: Path,
    settings_overrides: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> Settings:
    # The developer's own environment must not steer the test bot.
    for name in list(os.environ):
        if name.startswith("GUIDENEST_") or name == "DISCORD_TOKEN":
            monkeypatch.delenv(name)
    guild_id = next(iter(emulator.world.guilds), None)
    values: dict[str, Any] = {
        "DISCORD_TOKEN": emulator.world.token,
        "discord_api_base": emulator.api_base,
        "discord_gateway_url": emulator.gateway_url,
        "dev_guild": guild_id,
        "database_path": tmp_path / "guidenest.sqlite3",
        "log_level": "INFO",
    }
    values.update(settings_overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
async def harness(
    emulator: DiscordEmulator,
    e2e_settings: Settings,
    log_guard: LogGuard,
    bot_extensions: tuple[str, ...] | None,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[BotHarness]:
    if bot_extensions is not None:
        monkeypatch.setattr(bot.app, "EXTENSIONS", bot_extensions)
    runner = BotHarness(emulator, e2e_settings, log_guard)
    failures: list[str] = []
    try:
        yield runner
    finally:
        try:
            await runner.stop()
        except (TimeoutError, AssertionError, discord.DiscordException, OSError) as exc:
            failures.append(f"stopping the bot failed: {exc!r}")
        failures.extend(bot_failures(emulator, log_guard))
    if failures:
        pytest.fail("\n".join(failures), pytrace=False)


@pytest.fixture
async def e2e(harness: BotHarness) -> BotHarness:
    await harness.start()
    return harness
