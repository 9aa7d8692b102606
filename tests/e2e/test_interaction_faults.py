"""Interactions stay answered when the database fails or is slow, and component errors are explained.

A locked SQLite database cannot be produced on cue, so the storage method in question is replaced on the
running bot: one that raises `database is locked`, or one that notes what the member had been shown when the
bot reached the database. Everything else is real: the bot, the emulator, a TCP connection that is refused.

Address plan: this module owns 127.0.4.20 (a port with nothing listening, for a probe that fails fast).
"""

from __future__ import annotations

import copy
import logging
import socket
import sqlite3
from typing import Any

import pytest

import bot.exts.feedback
import bot.exts.probe
from bot.probe import ProbeRefused
from bot.settings import DEFAULT_PROBE_PORTS
from tests.e2e.cogs_helpers import embed, switcher, vote_ids, votes_on
from tests.e2e.emulator.server import APPLICATION_COMMAND, AUTOCOMPLETE, MESSAGE_COMPONENT
from tests.e2e.emulator.state import MESSAGE_FLAG_LOADING
from tests.e2e.harness import Interaction

CLOSED_HOST = "127.0.4.20"
LOCKED = "database is locked"


@pytest.fixture(scope="module")
def closed_port() -> int:
    # Bound and released: nothing listens there, so a probe is refused at the TCP step at once.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((CLOSED_HOST, 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def settings_overrides(closed_port: int) -> dict[str, Any]:
    return {
        "probe_allow_networks": "127.0.0.0/8",
        "probe_allowed_ports": [*DEFAULT_PROBE_PORTS, closed_port],
        "probe_timeout_seconds": 2.0,
    }


def shown_so_far(e2e) -> str:
    """What the member of the latest interaction has been shown: nothing yet, "thinking" or an answer."""
    record = list(e2e.emulator.interactions.values())[-1]
    if record.response_type is None:
        return "nothing"
    original = e2e.emulator.messages.get(record.original_message_id)
    if record.response_type == 5 and original is not None and original.flags & MESSAGE_FLAG_LOADING:
        return "thinking"
    return "answer"


class LockedStorage:
    """Stands in for one storage method: notes what the member had seen when it was called, then fails."""

    def __init__(self, e2e, *, fail: bool = True) -> None:
        self.e2e = e2e
        self.fail = fail
        self.seen: list[str] = []

    async def __call__(self, **_: Any) -> None:
        self.seen.append(shown_so_far(self.e2e))
        if self.fail:
            raise sqlite3.OperationalError(LOCKED)


def locked(record: logging.LogRecord) -> bool:
    return record.exc_info is not None and isinstance(record.exc_info[1], sqlite3.OperationalError)


def failed_probe(record: logging.LogRecord) -> bool:
    return record.name == "bot.exts.probe" and record.exc_info is not None and not locked(record)


async def probe(e2e, port: int):
    return await e2e.slash("probe", user=e2e.world.moderator, host=CLOSED_HOST, port=port, protocol="imap")


# --- the probe cog: the answer first, then the audit; a failed audit write does not spoil the answer -------------


async def test_probe_result_is_shown_although_the_audit_write_fails(e2e, closed_port, monkeypatch, log_guard):
    audit = LockedStorage(e2e)
    monkeypatch.setattr(e2e.bot.storage, "record_probe", audit)
    inter = await probe(e2e, closed_port)
    result = await inter.reply()
    assert inter.response_type == 5
    card = embed(result)
    assert card["title"].startswith(f"Probe: IMAP {CLOSED_HOST} port {closed_port}")
    assert card["description"].startswith("❌ **Failed** at the tcp step")
    await e2e.settle()
    assert audit.seen == ["answer"]  # the card was up before the database was touched
    [record] = log_guard.take(locked)
    assert record.name == "bot.exts.probe"
    assert "audit record" in record.getMessage()
    assert f"{CLOSED_HOST}:{closed_port}" in record.getMessage()
    assert inter.record.followup_ids == []  # no second "something went wrong" message


async def test_refusals_answer_before_the_audit_write(e2e, closed_port, monkeypatch, log_guard):
    audit = LockedStorage(e2e)
    monkeypatch.setattr(e2e.bot.storage, "record_probe", audit)
    # Refused before anything is deferred: the member's reply must not wait behind a locked database.
    inter = await e2e.slash("probe", user=e2e.world.moderator, host="10.0.0.1", port=993)
    refused = await inter.reply()
    assert inter.response_type == 4
    assert embed(refused)["title"] == "Refused"
    # Refused after the deferral (in real use: a name that resolves to a private address).
    with monkeypatch.context() as patch:

        async def resolves_privately(*_: Any, **__: Any) -> None:
            raise ProbeRefused("imap.example.test resolves to 10.1.2.3, a private address")

        patch.setattr(bot.exts.probe, "run_probe", resolves_privately)
        inter = await probe(e2e, closed_port)
        refused = await inter.reply()
    assert inter.response_type == 5
    assert embed(refused)["title"] == "Refused"
    assert "10.1.2.3" in embed(refused)["description"]
    await e2e.settle()
    assert audit.seen == ["answer", "answer"]
    assert len(log_guard.take(locked)) == 2


async def test_a_failed_probe_ends_thinking_although_the_audit_write_fails(e2e, closed_port, monkeypatch, log_guard):
    monkeypatch.setattr(e2e.bot.storage, "record_probe", LockedStorage(e2e))

    def broken_card(*_: Any) -> None:
        raise RuntimeError("a bug while building the card")

    # The card is built after the probe returned; a bug there must still end the "thinking…" message.
    monkeypatch.setattr(bot.exts.probe, "probe_card", broken_card)
    inter = await probe(e2e, closed_port)
    failed = await inter.reply()
    assert embed(failed)["title"] == "Something went wrong"
    assert "The check did not finish" in embed(failed)["description"]
    await e2e.settle()
    assert len(log_guard.take(failed_probe)) == 1  # the bug
    assert len(log_guard.take(locked)) == 1  # and the lost audit record
    assert inter.record.followup_ids == []


# --- 👍 / 👎 and the suggestions menu --------------------------------------------------------------------------


async def _answer(e2e):
    question = await e2e.send_message("0x800CCC0E", channel=e2e.world.general, mention_bot=True)
    answer = await e2e.wait_for_reply(question)
    await e2e.settle()  # the answer's record is stored
    return answer


async def test_votes_are_acknowledged_before_the_database_is_touched(e2e, monkeypatch):
    answer = await _answer(e2e)
    up, down = vote_ids(answer)
    seen: list[str] = []
    storage = e2e.bot.storage

    def noting(method):
        async def call(*args: Any, **kwargs: Any) -> Any:
            seen.append(shown_so_far(e2e))
            return await method(*args, **kwargs)

        return call

    for name in ("answer", "record_vote", "record_miss"):
        monkeypatch.setattr(storage, name, noting(getattr(storage, name)))
    thanks = await (await e2e.click(answer, up, user=e2e.world.member)).reply()
    assert embed(thanks)["title"] == "Thanks!"
    assert thanks.ephemeral
    offer = await (await e2e.click(answer, down, user=e2e.world.helper)).reply()
    assert embed(offer)["title"] == "Thanks for telling me"
    assert offer.ephemeral
    await e2e.settle()
    assert len(seen) == 5  # 👍: the answer's record and the vote; 👎: the miss as well
    assert "nothing" not in seen
    assert votes_on(storage, answer.id) == (1, 1)


async def test_a_vote_that_cannot_be_stored_is_explained(e2e, monkeypatch, log_guard):
    answer = await _answer(e2e)
    monkeypatch.setattr(e2e.bot.storage, "record_vote", LockedStorage(e2e))
    click = await e2e.click(answer, vote_ids(answer)[0], user=e2e.world.member)
    reply = await click.reply()
    assert reply.ephemeral
    assert embed(reply)["title"] == "Something went wrong"
    assert "logged" in embed(reply)["description"]
    await e2e.settle()
    [record] = log_guard.take(locked)
    assert record.name == "bot.exts.errors"
    assert "vote button" in record.getMessage()


async def test_a_failing_suggestions_menu_is_explained(e2e, monkeypatch, log_guard):
    answer = await _answer(e2e)
    offer = await (await e2e.click(answer, vote_ids(answer)[1], user=e2e.world.member)).reply()
    menu = switcher(offer)

    def broken_card(*_: Any) -> None:
        raise RuntimeError("a bug while showing the pick")

    monkeypatch.setattr(bot.exts.feedback, "picked_card", broken_card)
    pick = await e2e.select(offer, menu["custom_id"], [menu["options"][0]["value"]], user=e2e.world.member)
    reply = await pick.reply()
    assert pick.response_type == 4
    assert reply.ephemeral
    assert embed(reply)["title"] == "Something went wrong"
    await e2e.settle()
    [record] = log_guard.take(lambda r: r.exc_info is not None and isinstance(r.exc_info[1], RuntimeError))
    assert record.name == "bot.exts.errors"
    assert "suggestions menu" in record.getMessage()


# --- forged and malformed payloads: refused with a sentence and a WARNING, nothing stored, no traceback ---------


def refusals(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """The errors cog's refusals so far: each a WARNING, none with a traceback."""
    records = [r for r in caplog.records if r.name == "bot.exts.errors" and "refused" in r.getMessage()]
    assert all(r.levelname == "WARNING" and r.exc_info is None for r in records), records
    return records


def forged_message(message, replaced: str, custom_id: str) -> dict[str, Any]:
    """The message's payload with one component's custom_id replaced: discord.py only runs a component that
    the interaction's message carries, so a forged click comes with a forged message."""
    payload = copy.deepcopy(message.data)
    for row in payload.get("components") or []:
        for component in row.get("components") or []:
            if component.get("custom_id") == replaced:
                component["custom_id"] = custom_id
    return payload


async def raw_click(
    e2e, message, custom_id: str, *, values: list[str] | None = None, replaced: str | None = None
) -> Interaction:
    """A component interaction for `custom_id`, sent as a forged client would: whether or not it is offered."""
    data: dict[str, Any] = {"custom_id": custom_id, "component_type": 2 if values is None else 3}
    if values is not None:
        data["values"] = values
    channel = e2e.emulator.world.channels[message.channel_id]
    record = await e2e.emulator.inject_raw(
        MESSAGE_COMPONENT,
        data,
        user=e2e.world.member,
        channel=channel,
        message=message,
        message_payload=forged_message(message, replaced, custom_id) if replaced else None,
    )
    return Interaction(e2e.emulator, record)


FORGED_VOTES = [
    "gn:vote:up:no-such-entry",
    "gn:vote:down:no-such-entry",
    "gn:vote:up:" + "0123456789abcdefghij" * 2,  # 40 characters of junk the template accepts
    "gn:vote:down:" + "-" * 40,
]


async def test_votes_for_entries_that_do_not_exist_are_refused(e2e, caplog):
    caplog.set_level(logging.WARNING, logger="bot.exts.errors")
    answer = await _answer(e2e)
    storage = e2e.bot.storage
    misses_before = await storage.top_misses(e2e.world.general.guild_id, limit=50)
    up, _ = vote_ids(answer)
    for custom_id in FORGED_VOTES:
        reply = await (await raw_click(e2e, answer, custom_id, replaced=up)).reply()
        assert reply.ephemeral
        assert embed(reply)["title"] == "Not accepted", custom_id
        assert "never gave" in embed(reply)["description"]
    await e2e.settle()
    assert votes_on(storage, answer.id) == (0, 0)
    assert await storage.top_misses(e2e.world.general.guild_id, limit=50) == misses_before  # no 👎 miss either
    assert len(refusals(caplog)) == len(FORGED_VOTES)
    # The real buttons still count.
    thanks = await (await e2e.click(answer, vote_ids(answer)[0], user=e2e.world.member)).reply()
    assert embed(thanks)["title"] == "Thanks!"
    assert votes_on(storage, answer.id) == (1, 0)


async def test_a_forged_suggestions_pick_is_refused(e2e, caplog):
    caplog.set_level(logging.WARNING, logger="bot.exts.errors")
    answer = await _answer(e2e)
    offer = await (await e2e.click(answer, vote_ids(answer)[1], user=e2e.world.member)).reply()
    menu = switcher(offer)
    for value in ("no-such-entry:99", "nan:not-a-score"):
        reply = await (await raw_click(e2e, offer, menu["custom_id"], values=[value])).reply()
        assert reply.ephemeral
        assert embed(reply)["title"] == "Not accepted"
    assert len(refusals(caplog)) == 2


def _command_data(e2e, name: str, options: list[dict[str, Any]]) -> dict[str, Any]:
    words = name.split()
    registered = e2e.command(words[0])
    for word in reversed(words[1:]):
        options = [{"name": word, "type": 1, "options": options}]
    data: dict[str, Any] = {"id": registered["id"], "name": words[0], "type": 1, "options": options}
    if registered.get("guild_id"):
        data["guild_id"] = registered["guild_id"]
    return data


async def raw_slash(e2e, data: dict[str, Any]) -> Interaction:
    record = await e2e.emulator.inject_raw(
        APPLICATION_COMMAND, data, user=e2e.world.moderator, channel=e2e.world.general
    )
    return Interaction(e2e.emulator, record)


def _option(name: str, kind: int, value: Any) -> dict[str, Any]:
    return {"name": name, "type": kind, "value": value}


STRING, INTEGER, BOOLEAN, NUMBER = 3, 4, 5, 10
REFUSED = "That value doesn't fit"
STALE = "This command changed"

# (command, options, the title of the reply); each once logged ERROR with a traceback, or stored its value.
MALFORMED = [
    ("config cooldowns", [_option("answer_seconds", NUMBER, float("nan"))], REFUSED),
    ("config cooldowns", [_option("answer_seconds", NUMBER, float("inf"))], REFUSED),
    ("config cooldowns", [_option("answer_seconds", NUMBER, 1e300)], REFUSED),
    ("config cooldowns", [_option("answer_seconds", NUMBER, -5)], REFUSED),
    ("config cooldowns", [_option("answer_seconds", NUMBER, "abc")], REFUSED),
    ("config cooldowns", [_option("user_limit", INTEGER, 0)], REFUSED),
    ("config cooldowns", [_option("user_limit", INTEGER, 2.5)], REFUSED),
    ("config cooldowns", [_option("user_limit", INTEGER, "3")], REFUSED),
    ("config cooldowns", [{"name": "user_limit", "type": INTEGER}], REFUSED),  # no value at all
    ("config mailsettings", [_option("public", BOOLEAN, "false")], REFUSED),
    ("config confidence", [_option("level", STRING, "extreme")], REFUSED),
    ("probe-history", [_option("limit", INTEGER, 0)], REFUSED),
    ("probe-history", [_option("limit", INTEGER, -1)], REFUSED),
    ("probe", [_option("host", STRING, "127.0.0.1"), _option("port", INTEGER, 70000)], REFUSED),
    ("ask", [_option("question", STRING, 42)], REFUSED),
    ("ask", [_option("question", STRING, "")], REFUSED),
    # What a definition out of date produces: another type, an option gone, one missing, a command gone.
    ("config cooldowns", [_option("user_limit", STRING, "3")], STALE),
    ("config cooldowns", [_option("seconds", NUMBER, 30)], STALE),
    ("config channel", [], STALE),
    ("config", [], STALE),
    ("config frobnicate", [], STALE),
]


def _case_id(case: tuple[str, list[dict[str, Any]], str]) -> str:
    name, options, _ = case
    return f"{name}:" + ",".join(f"{o['name']}({o['type']})={o.get('value', '<none>')!r}" for o in options)


@pytest.mark.parametrize(("name", "options", "title"), MALFORMED, ids=[_case_id(case) for case in MALFORMED])
async def test_malformed_options_are_refused_with_a_warning(e2e, caplog, name, options, title):
    caplog.set_level(logging.WARNING, logger="bot.exts.errors")
    reply = await (await raw_slash(e2e, _command_data(e2e, name, options))).reply()
    assert reply.ephemeral
    assert embed(reply)["title"] == title
    await e2e.settle()
    assert len(refusals(caplog)) == 1
    config = await e2e.bot.storage.guild_config(e2e.world.general.guild_id)
    assert (config.answer_cooldown_seconds, config.user_rate_limit, config.confidence) == (None, None, None)
    assert config.mailsettings_public is False


async def test_well_formed_options_pass_the_same_check(e2e):
    done = await (await e2e.slash("config cooldowns", user=e2e.world.moderator, answer_seconds=30)).reply()
    assert done.content == "Cooldowns updated."
    assert (await e2e.bot.storage.guild_config(e2e.world.general.guild_id)).answer_cooldown_seconds == 30


async def test_a_command_that_is_gone_says_it_changed(e2e, caplog):
    caplog.set_level(logging.WARNING, logger="bot.exts.errors")
    data = {"id": "1", "name": "no-such-command", "type": 1, "options": []}
    reply = await (await raw_slash(e2e, data)).reply()
    assert reply.ephemeral
    assert embed(reply)["title"] == STALE
    assert embed(reply)["description"] == "This command changed, try again in a minute."
    [record] = refusals(caplog)
    assert "no-such-command" in record.getMessage()


async def test_malformed_autocomplete_offers_nothing(e2e, caplog):
    caplog.set_level(logging.WARNING, logger="bot.exts.errors")
    data = _command_data(e2e, "provider", [{"name": "name", "type": INTEGER, "value": 5, "focused": True}])
    record = await e2e.emulator.inject_raw(AUTOCOMPLETE, data, user=e2e.world.member, channel=e2e.world.general)
    assert await Interaction(e2e.emulator, record).choices() == []
    assert len(refusals(caplog)) == 1
