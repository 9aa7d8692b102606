"""SIGKILL in the middle of a vote storm: every vote the bot confirmed to the member is in the database.

`guidenest run` is started as a real process against the emulator, posts three answers with 👍 / 👎, and ten
members click those buttons as fast as the bot answers them. Once enough votes are confirmed the process is
killed with SIGKILL — no handler, no clean close — and the SQLite file it left behind is opened directly.

A member is told a vote counted by the follow-up that replaces the "thinking…" of the deferral ("Thanks!" or
"Thanks for telling me"); the deferral alone promises nothing. Each member clicks one button at a time, going
round the three answers and flipping 👍 / 👎 on every lap, so a lost write shows as a missing row, as the
member's previous vote on that answer, or as a row written before the confirmed click was even made (the
bot's `voted_at` and the test's clock are the same machine's UTC clock). Only the one click a member had in
flight at the kill may go either way.
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

import pytest

from tests.e2e.cogs_helpers import vote_ids
from tests.e2e.emulator import DefaultWorld
from tests.e2e.guidenest_process import DATABASE, EXIT_TIMEOUT, GuidenestProcess, bot_environment, until_ready

if TYPE_CHECKING:
    from pathlib import Path

    from tests.e2e.emulator import DiscordEmulator
    from tests.e2e.emulator.recording import StoredMessage
    from tests.e2e.emulator.server import InteractionRecord
    from tests.e2e.emulator.state import User

VOTERS = 10
KILL_AFTER_CONFIRMED = 150  # well into the storm: every voter has had several votes confirmed by then
CONFIRMATION_TIMEOUT = 10.0  # one vote, on a busy machine; a storm stuck this long fails the test
QUESTIONS = ("what port does imap use", "which smtp port should I use", "0x800CCC0E")
CONFIRMED_TITLES = {"Thanks!", "Thanks for telling me"}


class VotingWorld(DefaultWorld):
    def __init__(self) -> None:
        super().__init__()
        self.voters = [self.member, self.helper]
        for number in range(VOTERS - len(self.voters)):
            voter = self.add_user(f"voter-{number}")
            self.guild.add_member(voter)
            self.voters.append(voter)


@pytest.fixture
def world() -> VotingWorld:
    return VotingWorld()


@dataclass
class Click:
    answer_id: int
    helpful: bool
    clicked_at: float  # time.time() just before the click went out
    record: InteractionRecord


@dataclass
class Voter:
    user: User
    clicks: list[Click] = field(default_factory=list)


def confirmed(emulator: DiscordEmulator, click: Click) -> bool:
    """The member saw their vote acknowledged as counted (not merely deferred, not an error)."""
    if not click.record.followup_ids:
        return False
    shown = emulator.message(click.record.followup_ids[0])
    return any(embed.get("title") in CONFIRMED_TITLES for embed in shown.embeds)


async def ask(emulator: DiscordEmulator, world: VotingWorld, text: str, author: User) -> StoredMessage:
    mark = emulator.calls.mark()
    await emulator.inject_message(f"{world.bot_user.mention} {text}", author=author, channel=world.help)
    reply = await emulator.calls.wait_for(
        lambda c: c.matches("POST", f"/channels/{world.help.id}/messages") and c.status == 200,
        since=mark,
        timeout=EXIT_TIMEOUT,
        what=f"the answer to {text!r}",
    )
    return emulator.message(int(reply.response["id"]))


async def vote_until_cancelled(
    emulator: DiscordEmulator, voter: Voter, offset: int, answers: list[StoredMessage]
) -> None:
    """One click at a time, as a person does: the next only once the last one was confirmed."""
    loop = asyncio.get_running_loop()
    number = 0
    while True:
        answer = answers[number % len(answers)]
        helpful = (number // len(answers) + offset) % 2 == 0
        up, down = vote_ids(answer)
        clicked_at = time.time()
        record = await emulator.inject_component(answer, up if helpful else down, user=voter.user)
        click = Click(answer.id, helpful, clicked_at, record)
        voter.clicks.append(click)
        deadline = loop.time() + CONFIRMATION_TIMEOUT
        while not confirmed(emulator, click):
            if loop.time() > deadline:
                raise AssertionError(f"{record.label} was not confirmed within {CONFIRMATION_TIMEOUT:.0f}s")
            await asyncio.sleep(0.005)
        number += 1


async def test_sigkill_during_a_vote_storm_loses_no_confirmed_vote(
    emulator: DiscordEmulator, world: VotingWorld, tmp_path: Path
) -> None:
    process = await GuidenestProcess.start(bot_environment(emulator, tmp_path, world.token), tmp_path)
    voters = [Voter(user) for user in world.voters]
    storm: list[asyncio.Task[None]] = []
    try:
        await until_ready(emulator, process)
        # Different authors, so no per-member answer cooldown stands in the way.
        answers = [
            await ask(emulator, world, text, author)
            for text, author in zip(QUESTIONS, (world.member, world.helper, world.moderator), strict=True)
        ]
        storm = [
            asyncio.create_task(vote_until_cancelled(emulator, voter, offset, answers))
            for offset, voter in enumerate(voters)
        ]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + EXIT_TIMEOUT
        while sum(confirmed(emulator, c) for v in voters for c in v.clicks) < KILL_AFTER_CONFIRMED:
            failed = [task for task in storm if task.done()]
            if failed:
                failed[0].result()  # a voter stopped: its error is the test's
            assert loop.time() < deadline, "the storm did not reach the kill point in time"
            await asyncio.sleep(0.005)
        process.send(signal.SIGKILL)
        finished = await process.finish()
    finally:
        process.kill()
        for task in storm:
            task.cancel()
        await asyncio.gather(*storm, return_exceptions=True)
    assert finished.returncode == -signal.SIGKILL

    # Requests the bot sent before it died have been answered by now; nothing arrives after this.
    await asyncio.sleep(0.1)
    with closing(sqlite3.connect(tmp_path / DATABASE)) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        stored = {
            (message_id, user_id): (bool(helpful), datetime.fromisoformat(voted_at).timestamp())
            for message_id, user_id, helpful, voted_at in connection.execute(
                "SELECT message_id, user_id, helpful, voted_at FROM vote"
            )
        }

    lost = []
    in_flight = 0
    for voter in voters:
        done = [click for click in voter.clicks if confirmed(emulator, click)]
        pending = voter.clicks[len(done) :]
        # Serial clicks: the confirmed ones come first, and at most the last one was still under way.
        assert done == voter.clicks[: len(done)]
        assert len(pending) <= 1
        in_flight += len(pending)
        last_confirmed = {click.answer_id: click for click in done}
        for answer_id, click in last_confirmed.items():
            allowed = {click.helpful}
            if pending and pending[0].answer_id == answer_id:
                allowed.add(pending[0].helpful)  # stored or not, both are right
            row = stored.get((answer_id, voter.user.id))
            # Written by this click or the pending one, so not before this click was made.
            if row is None or row[0] not in allowed or row[1] < click.clicked_at:
                lost.append((voter.user.username, answer_id, click.helpful, row))
        # Nothing stored that no click asked for.
        clicked = {click.answer_id for click in voter.clicks}
        assert {a for (a, u) in stored if u == voter.user.id} <= clicked

    sent = sum(len(voter.clicks) for voter in voters)
    deferred = sum(c.record.response_type == 5 for v in voters for c in v.clicks)
    confirmations = sum(len(voter.clicks) for voter in voters) - in_flight
    print(f"clicks {sent}, deferred {deferred}, confirmed {confirmations}, in flight at the kill {in_flight}")
    assert not lost, f"confirmed votes missing after SIGKILL (voter, answer, confirmed, stored): {lost}"
    assert confirmations >= KILL_AFTER_CONFIRMED
    # The kill landed mid-storm: some clicks were still being handled.
    assert in_flight > 0
