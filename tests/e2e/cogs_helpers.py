"""Short verbs for the cogs' end-to-end tests, on top of the shared harness (tests/e2e/harness.py)."""

from __future__ import annotations

import re
import sqlite3
from contextlib import closing
from typing import TYPE_CHECKING, Any

from bot.settings import Confidence
from tests.e2e.harness import Interaction

if TYPE_CHECKING:
    from bot.storage import Storage
    from tests.e2e.emulator import Channel, RestCall, StoredMessage, User

_VOTE = re.compile(r"gn:vote:(up|down)(?::([a-z0-9-]+))?")


async def enable_channel(e2e: Any, channel: Channel, *, enabled: bool = True) -> StoredMessage:
    """A moderator turns passive answering on (or off) in `channel` with `/config channel`."""
    inter = await e2e.slash("config channel", user=e2e.world.moderator, enabled=enabled, channel=channel)
    reply = await inter.reply()
    assert f"<#{channel.id}>" in reply.text
    return reply


async def message_command(
    e2e: Any, name: str, target: StoredMessage, *, user: User | None = None, force: bool = False
) -> Interaction:
    """A member (`member` by default) runs the message context-menu command `name` (Apps → name) on `target`."""
    record = await e2e.emulator.inject_message_command(
        name, target, user=user or e2e.world.member, force=force
    )
    return Interaction(e2e.emulator, record)


def vote_ids(message: StoredMessage) -> tuple[str, str]:
    """The custom ids of the 👍 and 👎 buttons under an answer."""
    ids = [custom_id for custom_id in message.custom_ids() if custom_id.startswith("gn:vote:")]
    up = next(i for i in ids if i.startswith("gn:vote:up"))
    down = next(i for i in ids if i.startswith("gn:vote:down"))
    return up, down


def shown_entry(message: StoredMessage) -> str | None:
    """The knowledge entry an answer shows, as its vote buttons carry it."""
    for custom_id in message.custom_ids():
        match = _VOTE.fullmatch(custom_id)
        if match:
            return match[2]
    return None


def switcher(message: StoredMessage) -> dict[str, Any]:
    """The suggestions select menu under an answer."""
    return next(c for c in message.all_components() if str(c.get("custom_id", "")).startswith("gn:alt:"))


def message_call(e2e: Any, message: StoredMessage) -> RestCall:
    """The REST call that created a bot message in a channel (not an interaction response)."""
    return next(
        call
        for call in e2e.emulator.calls
        if call.method == "POST"
        and call.path == f"/channels/{message.channel_id}/messages"
        and isinstance(call.response, dict)
        and call.response.get("id") == str(message.id)
    )


def votes_on(storage: Storage, message_id: int) -> tuple[int, int]:
    """(👍, 👎) stored for one answer message, read from the bot's database file as committed."""
    with closing(sqlite3.connect(storage.path)) as db:
        helpful, not_helpful = db.execute(
            "SELECT COALESCE(SUM(helpful), 0), COALESCE(SUM(1 - helpful), 0) FROM vote WHERE message_id = ?",
            (message_id,),
        ).fetchone()
    return int(helpful), int(not_helpful)


def embed(message: StoredMessage) -> dict[str, Any]:
    assert message.embeds, f"expected an embed in {message}"
    return message.embeds[0]


# Short or vague questions. Which of them the matcher is sure about depends on its tuning, so tests pick
# theirs from this list with the bot's own matcher instead of hard-coding one.
VAGUE_QUESTIONS = (
    "imap",
    "pop3",
    "smtp",
    "ports",
    "mail problem",
    "email settings",
    "my email does not work",
    "outlook cannot send",
    "thunderbird help",
    "ssl",
    "server",
    "port",
    "security",
    "outlook",
    "sent folder",
    "imap settings",
    "thunderbird cannot send",
    "mail not arriving",
    # Clearer ones, whose answer probability falls between the levels' thresholds.
    "smtp port for office 365",
    "hotmail won't accept my password in thunderbird anymore",
    "outlook times out on the office network but fine on my phone hotspot",
    "which port is pop3 over ssl",
    "is starttls safer than ssl",
    "port 465 starttls not working",
)


def pick_question(e2e: Any, *, other_than: str | None = None, **confident_at: bool) -> tuple[str, str]:
    """A vague question with a best match whose confidence at each given level is as asked
    (`normal=False, relaxed=True`), and the id of that best match; with `other_than`, a match other than that
    entry (an entry just answered in a channel is in its cooldown there)."""
    matcher = e2e.bot.knowledge.current.matcher
    for question in VAGUE_QUESTIONS:
        results = {level: matcher.match(question, level=Confidence(level)) for level in confident_at}
        best = next(iter(results.values())).best
        if best is None or best.entry.id == other_than:
            continue
        if all(results[level].confident == want for level, want in confident_at.items()):
            return question, best.entry.id
    raise AssertionError(f"no question in VAGUE_QUESTIONS is {confident_at}; add one to the list")
