"""Screenshots on Discord: the real bot reads image attachments that the emulator serves as Discord's CDN
would (signed URLs, content type and length), refuses other hosts, oversized images and bombs within the
budget, never downloads where it would not answer, and carries on without OCR installed."""

from __future__ import annotations

import logging
import sys
import time
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest
from aiohttp import web

from tests.e2e.cogs_helpers import embed, enable_channel, shown_entry
from tests.e2e.emulator import MemberAttachment
from tests.ocr.images import encode, png_bomb, text_image
from tests.ocr.screenshots import SHOTS

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from tests.e2e.emulator import DiscordEmulator, StoredMessage

MAX_BYTES = 200_000
BUDGET = 5.0
CANNOT_GET_MAIL = next(shot for shot in SHOTS if shot.entry == "ios-cannot-get-mail" and shot.jpeg is None)
SCREENSHOT = CANNOT_GET_MAIL.encoded()
AUTH_ERROR = "535 5.7.8 Username and Password not accepted"


@pytest.fixture
def settings_overrides(emulator: DiscordEmulator) -> dict[str, Any]:
    # The emulator serves attachments over http on 127.0.0.1: listed as address:port, as the guard requires.
    return {
        "discord_cdn_hosts": [f"{emulator.host}:{emulator.port}"],
        "ocr_max_bytes": MAX_BYTES,
        "ocr_timeout_seconds": BUDGET,
    }


class OtherHost:
    """An image host that is not Discord's, counting the requests it gets."""

    def __init__(self) -> None:
        self.requests = 0
        self.port = 0
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/{name}", self._serve)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = int(self._runner.addresses[0][1])

    async def _serve(self, request: web.Request) -> web.Response:
        self.requests += 1
        return web.Response(body=SCREENSHOT, content_type="image/png")

    async def stop(self) -> None:
        assert self._runner is not None
        await self._runner.cleanup()


@pytest.fixture
async def other_host() -> AsyncIterator[OtherHost]:
    host = OtherHost()
    await host.start()
    yield host
    await host.stop()


def screenshot(data: bytes = SCREENSHOT, name: str = "IMG_0412.png", **claims: Any) -> MemberAttachment:
    return MemberAttachment(name, data, "image/png", **claims)


async def post(e2e: Any, content: str, *attachments: MemberAttachment, channel: Any = None) -> StoredMessage:
    return await e2e.emulator.inject_message(
        content, author=e2e.world.member, channel=channel or e2e.world.help, attachments=list(attachments)
    )


# --- the emulator serves attachments as Discord's CDN does -------------------------------------------------


async def test_the_emulator_serves_attachments_at_their_signed_urls(emulator: DiscordEmulator) -> None:
    world = emulator.world
    message = await emulator.inject_message(
        "", author=world.member, channel=world.help, attachments=[screenshot(width=390, height=367)]
    )
    attachment = message.data["attachments"][0]
    assert attachment["size"] == len(SCREENSHOT)
    assert (attachment["width"], attachment["height"]) == (390, 367)
    assert attachment["url"].startswith(f"{emulator.base_url}/attachments/{world.help.id}/{attachment['id']}/")
    assert "ex=" in attachment["url"]
    assert "hm=" in attachment["url"]
    async with aiohttp.ClientSession() as session:
        async with session.get(attachment["url"]) as response:
            assert response.status == 200
            assert response.content_type == "image/png"
            assert response.content_length == len(SCREENSHOT)
            assert await response.read() == SCREENSHOT
        unsigned = attachment["url"].split("?")[0]
        forged = attachment["url"].replace("hm=", "hm=0")
        for url in (unsigned, forged):
            async with session.get(url) as response:
                assert response.status == 404
    assert len(emulator.attachment_downloads) == 3


async def test_a_test_can_place_an_attachment_on_another_host(emulator: DiscordEmulator) -> None:
    world = emulator.world
    message = await emulator.inject_message(
        "", author=world.member, channel=world.help, attachments=[screenshot(url="https://evil.example/a.png")]
    )
    assert message.data["attachments"][0]["url"] == "https://evil.example/a.png"
    assert "width" not in message.data["attachments"][0]  # not reported unless the test says so


# --- the bot reads screenshots ------------------------------------------------------------------------------


async def test_a_screenshot_in_an_enabled_channel_is_answered(e2e: Any) -> None:
    await enable_channel(e2e, e2e.world.help)
    question = await post(e2e, "", screenshot(width=390 * 3, height=367 * 3))
    answer = await e2e.wait_for_reply(question)
    card = embed(answer)
    assert card["description"].startswith("From your screenshot: *")
    assert "Cannot Get Mail — The connection to the server failed.*" in card["description"]
    assert shown_entry(answer) == "ios-cannot-get-mail"
    assert len(e2e.emulator.attachment_downloads) == 1
    assert e2e.bot.metrics.screenshots.value(outcome="read") == 1
    await e2e.settle()
    record = await e2e.bot.storage.answer(answer.id)
    assert record is not None
    assert "Cannot Get Mail" in record.query  # the question stored is what was read


async def test_a_mention_with_a_screenshot_and_words(e2e: Any) -> None:
    dialog = next(shot for shot in SHOTS if shot.entry == "outlook-0x800ccc0f")
    question = await post(
        e2e,
        f"{e2e.world.bot_user.mention} outlook shows this since this morning",
        MemberAttachment("error.jpg", dialog.encoded(), "image/jpeg"),
        channel=e2e.world.general,
    )
    answer = await e2e.wait_for_reply(question)
    assert "From your screenshot: *" in embed(answer)["description"]
    assert "0x800CCC0F" in embed(answer)["description"]
    assert shown_entry(answer) == "outlook-0x800ccc0f"


async def test_a_forum_post_with_only_a_screenshot_is_answered_in_its_thread(e2e: Any) -> None:
    await enable_channel(e2e, e2e.world.forum)
    thread, starter = await e2e.create_forum_post(
        "iPhone mail broken", "see screenshot", attachments=[screenshot(width=390 * 3, height=367 * 3)]
    )
    answer = await e2e.wait_for_reply(starter)
    assert answer.channel_id == thread.id
    assert embed(answer)["description"].startswith("From your screenshot: *")
    assert shown_entry(answer) == "ios-cannot-get-mail"


async def test_nothing_is_downloaded_where_the_bot_would_not_answer(e2e: Any) -> None:
    mark = e2e.emulator.created_messages.mark()
    await post(e2e, "look at this", screenshot(), channel=e2e.world.general)  # not enabled, not mentioned
    await e2e.expect_no_bot_message(mark)
    assert len(e2e.emulator.attachment_downloads) == 0
    assert e2e.bot.metrics.screenshots.value(outcome="read") == 0


class TestOverTheAnswerLimit:
    @pytest.fixture
    def settings_overrides(self, emulator: DiscordEmulator) -> dict[str, Any]:
        return {"discord_cdn_hosts": [f"{emulator.host}:{emulator.port}"], "user_rate_limit": 1}

    async def test_a_member_over_the_limit_has_no_screenshot_read(self, e2e: Any) -> None:
        await enable_channel(e2e, e2e.world.help)
        first = await post(e2e, "", screenshot(width=390 * 3, height=367 * 3))
        await e2e.wait_for_reply(first)
        assert len(e2e.emulator.attachment_downloads) == 1
        mark = e2e.emulator.created_messages.mark()
        await post(e2e, "", screenshot(width=390 * 3, height=367 * 3))
        await e2e.expect_no_bot_message(mark)
        assert len(e2e.emulator.attachment_downloads) == 1  # silent anyway: not downloaded, not read


async def test_an_attachment_on_another_host_is_refused(
    e2e: Any, other_host: OtherHost, caplog: pytest.LogCaptureFixture
) -> None:
    await enable_channel(e2e, e2e.world.help)
    elsewhere = screenshot(url=f"http://127.0.0.1:{other_host.port}/IMG_0412.png")
    with caplog.at_level(logging.INFO, logger="bot.ocr.service"):
        question = await post(e2e, AUTH_ERROR, elsewhere)
        answer = await e2e.wait_for_reply(question)
    assert shown_entry(answer) == "auth-failed-535"  # answered on its words alone
    assert "From your screenshot" not in answer.text
    assert other_host.requests == 0
    assert e2e.bot.metrics.screenshots.value(outcome="host_not_allowed") == 1
    refusals = [record for record in caplog.records if "not one of Discord's attachment hosts" in record.message]
    assert [record.levelno for record in refusals] == [logging.WARNING]


async def test_an_oversized_image_is_refused_without_downloading(e2e: Any) -> None:
    await enable_channel(e2e, e2e.world.help)
    noisy = encode(text_image("Relay access denied").resize((800, 800)), "PNG", compress_level=0)
    assert len(noisy) > MAX_BYTES
    started = time.perf_counter()
    question = await post(e2e, AUTH_ERROR, screenshot(noisy))
    answer = await e2e.wait_for_reply(question)
    assert time.perf_counter() - started < BUDGET
    assert shown_entry(answer) == "auth-failed-535"
    assert "From your screenshot" not in answer.text
    assert len(e2e.emulator.attachment_downloads) == 0  # Discord's declared size was enough
    assert e2e.bot.metrics.screenshots.value(outcome="too_large") == 1


async def test_a_bomb_is_refused_within_its_budget(e2e: Any) -> None:
    await enable_channel(e2e, e2e.world.help)
    bomb = png_bomb(6000, 6000)  # 36 million pixels in a few kilobytes
    # Once as Discord reports it (its dimensions: refused before the download), once without dimensions
    # (downloaded, refused from its header before a pixel is decoded).
    started = time.perf_counter()
    first = await post(e2e, AUTH_ERROR, screenshot(bomb, width=6000, height=6000))
    await e2e.wait_for_reply(first)
    assert len(e2e.emulator.attachment_downloads) == 0
    mark = e2e.emulator.created_messages.mark()
    second = await post(e2e, "554 5.7.1 Relay access denied", screenshot(bomb, name="bomb.png"))
    answer = await e2e.wait_for_reply(second)
    assert time.perf_counter() - started < BUDGET
    assert len(e2e.emulator.attachment_downloads) == 1
    assert shown_entry(answer) == "relay-denied"
    assert all("From your screenshot" not in m.text for m in e2e.emulator.bot_messages(since=mark))
    assert e2e.bot.metrics.screenshots.value(outcome="too_large") == 2


async def test_without_ocr_the_bot_says_so_once_and_answers_text(
    harness: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "tesserocr", None)  # `import tesserocr` fails as when it is not installed
    with caplog.at_level(logging.WARNING, logger="bot.app"):
        await harness.start()
        await enable_channel(harness, harness.world.help)
        for text in (AUTH_ERROR, "554 5.7.1 Relay access denied"):
            question = await post(harness, text, screenshot())
            answer = await harness.wait_for_reply(question)
            assert "From your screenshot" not in answer.text
    notices = [record for record in caplog.records if "screenshots are not read" in record.message]
    assert len(notices) == 1
    assert "tesserocr is not installed" in notices[0].message
    assert "pip install 'guidenest-bot[ocr]'" in notices[0].message
    assert len(harness.emulator.attachment_downloads) == 0
