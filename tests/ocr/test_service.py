"""The screenshot service: which attachments are read, early refusals from what Discord declares, one budget per
image, the metrics, and the settings it is built from."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import pytest
from aiohttp import web

from bot.metrics import SCREENSHOT_OUTCOMES, Metrics
from bot.ocr import Refusal
from bot.ocr.service import MAX_IMAGES, ImageAttachment, Screenshots, open_screenshots
from bot.settings import Settings
from tests.ocr.images import encode, png_bomb, text_image
from tests.ocr.test_download import FileServer

if TYPE_CHECKING:
    from collections.abc import AsyncIterator


class ImageServer(FileServer):
    """Serves named images; counts every request."""

    def __init__(self, images: dict[str, bytes]) -> None:
        super().__init__()
        self.images = images

    async def _ok(self, request: web.Request) -> web.Response:
        self.requests.append(request.path)
        name = request.query.get("name", "")
        if name not in self.images:
            raise web.HTTPNotFound
        return web.Response(body=self.images[name], content_type="image/png")


IMAGES = {
    "auth": encode(text_image("535 5.7.8 Username and Password not accepted")),
    "relay": encode(text_image("554 5.7.1 Relay access denied")),
    "bomb": png_bomb(6000, 6000),
    "blank": encode(text_image("")),
}


@pytest.fixture
async def server() -> AsyncIterator[ImageServer]:
    started = ImageServer(IMAGES)
    await started.start()
    yield started
    await started.stop()


@pytest.fixture
async def screenshots(server: ImageServer) -> AsyncIterator[Screenshots]:
    settings = Settings(_env_file=None, discord_cdn_hosts=[f"127.0.0.1:{server.port}"])  # type: ignore[call-arg]
    opened = open_screenshots(settings, Metrics())
    yield opened
    await opened.close()


def attachment(server: ImageServer, name: str, **claims: object) -> ImageAttachment:
    values: dict[str, object] = {"content_type": "image/png", "size": len(IMAGES.get(name, b"")), **claims}
    return ImageAttachment(url=server.url(f"/ok.png?name={name}"), filename=f"{name}.png", **values)  # type: ignore[arg-type]


async def test_reads_each_image_in_order(server: ImageServer, screenshots: Screenshots) -> None:
    text = await screenshots.read_attachments([attachment(server, "auth"), attachment(server, "relay")])
    assert text is not None
    first, second = text.split("\n")
    assert "Username and Password not accepted" in first
    assert "Relay access denied" in second
    assert screenshots.metrics.screenshots.value(outcome="read") == 2
    assert screenshots.metrics.screenshot_seconds.count == 2


async def test_attachments_that_are_not_images_are_not_downloaded(
    server: ImageServer, screenshots: Screenshots
) -> None:
    log = ImageAttachment(url=server.url("/ok.png?name=auth"), filename="mail.log", content_type="text/plain")
    unnamed = ImageAttachment(url=server.url("/ok.png?name=auth"), filename="trace.txt")
    assert await screenshots.read_attachments([log, unnamed]) is None
    assert server.requests == []


async def test_a_type_less_attachment_counts_by_its_name(server: ImageServer, screenshots: Screenshots) -> None:
    found = await screenshots.read_attachments([attachment(server, "relay", content_type=None)])
    assert found is not None
    assert "Relay access denied" in found


async def test_at_most_a_few_images_per_message(server: ImageServer, screenshots: Screenshots) -> None:
    await screenshots.read_attachments([attachment(server, "relay")] * (MAX_IMAGES + 3))
    assert len(server.requests) == MAX_IMAGES


async def test_what_discord_declares_refuses_before_downloading(
    server: ImageServer, screenshots: Screenshots
) -> None:
    huge = attachment(server, "bomb", width=6000, height=6000)
    heavy = attachment(server, "auth", size=screenshots.reader.limits.max_bytes + 1)
    assert await screenshots.read_attachments([huge, heavy]) is None
    assert server.requests == []
    assert screenshots.metrics.screenshots.value(outcome="too_large") == 2


async def test_an_undeclared_bomb_is_refused_after_its_header(
    server: ImageServer, screenshots: Screenshots, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="bot.ocr.service"):
        assert await screenshots.read_attachments([attachment(server, "bomb")]) is None
    assert len(server.requests) == 1
    assert screenshots.metrics.screenshots.value(outcome="too_large") == 1
    assert "screenshot 'bomb.png' not read: the image is 6000 x 6000 pixels" in caplog.text
    assert all(record.levelno == logging.INFO for record in caplog.records)


async def test_a_foreign_host_is_a_warning(screenshots: Screenshots, caplog: pytest.LogCaptureFixture) -> None:
    foreign = ImageAttachment(url="https://evil.example/a.png", filename="a.png", content_type="image/png")
    with caplog.at_level(logging.INFO, logger="bot.ocr.service"):
        assert await screenshots.read_attachments([foreign]) is None
    assert [record.levelno for record in caplog.records] == [logging.WARNING]
    assert screenshots.metrics.screenshots.value(outcome="host_not_allowed") == 1


async def test_an_image_with_no_text_is_nothing_read(server: ImageServer, screenshots: Screenshots) -> None:
    assert await screenshots.read_attachments([attachment(server, "blank")]) is None
    assert screenshots.metrics.screenshots.value(outcome="nothing_read") == 1


def test_every_refusal_is_a_published_outcome() -> None:
    assert {refusal.value for refusal in Refusal} <= set(SCREENSHOT_OUTCOMES)
