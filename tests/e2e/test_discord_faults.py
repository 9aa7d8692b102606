"""What Discord itself gets wrong, met by the whole bot: garbled gateway frames, 503s and long 429 bursts.

Refusals at start (gateway close codes 4004, 4013, 4014) are in test_run_errors.py, as a real process.
"""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.emulator.gateway import OP_IDENTIFY, OP_RESUME
from tests.ports import free_port

GARBLED_FRAMES = {
    "html": "<html><body><h1>502 Bad Gateway</h1></body></html>",
    "cut-short": '{"op": 0, "t": "MESSAGE_CREATE", "s": 9, "d": {"id": "1',
    "json-array": "[1, 2, 3]",
    "json-string": '"hello"',
    "json-null": "null",
}


@pytest.mark.parametrize("frame", GARBLED_FRAMES.values(), ids=GARBLED_FRAMES.keys())
async def test_a_frame_that_is_not_json_costs_a_resume_and_the_bot_keeps_answering(
    e2e, caplog: pytest.LogCaptureFixture, frame: str
) -> None:
    session_id = next(iter(e2e.gateway.sessions))
    mark = e2e.gateway.frames.mark()
    with caplog.at_level(logging.WARNING, logger="bot.app"):
        await e2e.wait_for_event("resumed", lambda: e2e.gateway.send_raw(frame))

    # The same session resumed on a new connection: nothing was lost, no fresh IDENTIFY.
    received = [f for f in e2e.gateway.frames.items[mark:] if f.direction == "recv"]
    resumes = [f for f in received if f.op == OP_RESUME]
    assert [f.data["session_id"] for f in resumes] == [session_id]
    assert not [f for f in received if f.op == OP_IDENTIFY]
    warnings = [r for r in caplog.records if r.name == "bot.app" and "not a JSON object" in r.getMessage()]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING
    assert warnings[0].exc_info is None  # bad input: a line, not a traceback

    question = await e2e.send_message("what port does imap use", mention_bot=True)
    answer = await e2e.wait_for_reply(question)
    assert "993" in answer.text


MESSAGES = "/channels/{id}/messages"



@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"health_port": free_port()}


async def _metrics(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as client,
        client.get(f"http://127.0.0.1:{port}/metrics") as response,
    ):
        text = await response.text()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _lost(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], reason: str) -> float:
    return samples[("guidenest_answers_lost_total", (("reason", reason),))]


async def test_one_503_on_an_answer_is_retried_like_a_500_and_the_answer_arrives(e2e, e2e_settings) -> None:
    e2e.faults.server_error(status=503, method="POST", path=MESSAGES)
    question = await e2e.send_message("what port does imap use", mention_bot=True)
    answer = await e2e.wait_for_reply(question)  # after discord.py's pause of 1 s

    assert "993" in answer.text
    statuses = [call.status for call in e2e.emulator.calls.find(lambda c: c.matches("POST", MESSAGES))]
    assert statuses == [503, 200]
    await e2e.settle()
    samples = await _metrics(e2e_settings.health_port)
    assert samples[("guidenest_answers_total", ())] == 1
    assert all(_lost(samples, reason) == 0 for reason in ("rate_limited", "server_error", "forbidden", "refused"))


async def test_a_429_burst_past_the_retries_loses_the_answer_and_metrics_count_it(
    e2e, e2e_settings, caplog: pytest.LogCaptureFixture
) -> None:
    # discord.py makes five tries, each after the retry_after it was given; the burst outlasts them.
    e2e.faults.rate_limit(method="POST", path=MESSAGES, retry_after=0.01, times=5)
    mark = e2e.emulator.created_messages.mark()
    with caplog.at_level(logging.WARNING, logger="bot.exts.answers"):
        await e2e.send_message("what port does imap use", mention_bot=True)
        await e2e.expect_no_bot_message(mark)

    statuses = [call.status for call in e2e.emulator.calls.find(lambda c: c.matches("POST", MESSAGES))]
    assert statuses == [429] * 5
    lost = [r for r in caplog.records if r.name == "bot.exts.answers" and "failed" in r.getMessage()]
    assert [r.levelno for r in lost] == [logging.WARNING]
    assert lost[0].exc_info is None
    samples = await _metrics(e2e_settings.health_port)
    assert _lost(samples, "rate_limited") == 1
    assert _lost(samples, "server_error") == 0
    assert samples[("guidenest_answers_total", ())] == 0

    # The lost answer did not start the channel's cooldown: asked again once the burst is over, it arrives.
    question = await e2e.send_message("what port does imap use", mention_bot=True)
    assert "993" in (await e2e.wait_for_reply(question)).text
    samples = await _metrics(e2e_settings.health_port)
    assert samples[("guidenest_answers_total", ())] == 1
    assert _lost(samples, "rate_limited") == 1
