"""Screenshots: the text of a message's image attachments, as one question, for the bot and the command line.

`open_screenshots(settings, metrics)` builds the service from the settings, or raises OcrUnavailableError (the
bot logs that once and answers text only). Every image gets one time budget for its download and its reading;
the images of a message are read side by side, within the reader's concurrency limit.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.ocr import ImageRefused, Refusal
from bot.ocr.download import AttachmentDownloader
from bot.ocr.image import ImageLimits, check_declared
from bot.ocr.reader import ScreenshotReader, tessdata_dir
from bot.ocr.text import screenshot_question

if TYPE_CHECKING:
    from collections.abc import Sequence

    from bot.metrics import Metrics
    from bot.settings import Settings

log = logging.getLogger(__name__)

IMAGE_CONTENT_TYPES = frozenset({"image/png", "image/jpeg", "image/webp", "image/gif"})
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".gif")
# Images read per message; Discord allows ten attachments, a question rarely needs more than a few.
MAX_IMAGES = 4
# How much of a file name a log line repeats: it is the sender's text.
_NAME_SHOWN = 60


@dataclass(frozen=True, slots=True)
class ImageAttachment:
    """An attachment as Discord describes it: its URL and what the sender's client claims about it."""

    url: str
    filename: str
    content_type: str | None = None
    size: int | None = None
    width: int | None = None
    height: int | None = None

    @property
    def looks_like_image(self) -> bool:
        if self.content_type:
            return self.content_type.split(";")[0].strip().lower() in IMAGE_CONTENT_TYPES
        return self.filename.lower().endswith(IMAGE_SUFFIXES)


class Screenshots:
    def __init__(self, reader: ScreenshotReader, downloader: AttachmentDownloader | None, metrics: Metrics) -> None:
        self.reader = reader
        self.downloader = downloader
        self.metrics = metrics

    async def read_image(self, data: bytes, *, deadline: float | None = None) -> str:
        """The question in the image `data` ("" when nothing was read). Raises ImageRefused."""
        return screenshot_question(await self.reader.read(data, deadline=deadline))

    async def read_attachments(self, attachments: Sequence[ImageAttachment]) -> str | None:
        """The text read from the image attachments, one line per image, or None (no image, none readable)."""
        images = [attachment for attachment in attachments if attachment.looks_like_image][:MAX_IMAGES]
        if not images:
            return None
        texts = await asyncio.gather(*(self._read_attachment(image) for image in images))
        return "\n".join(text for text in texts if text) or None

    async def _read_attachment(self, attachment: ImageAttachment) -> str:
        loop = asyncio.get_running_loop()
        started = loop.time()
        deadline = started + self.reader.seconds
        try:
            text = await self._download_and_read(attachment, deadline)
        except ImageRefused as exc:
            # A foreign host is worth an operator's look (a forged payload, or a setting to fix); the rest is
            # what members upload.
            level = logging.WARNING if exc.refusal is Refusal.HOST_NOT_ALLOWED else logging.INFO
            log.log(level, "screenshot %r not read: %s", attachment.filename[:_NAME_SHOWN], exc)
            self.metrics.screenshots.inc(outcome=exc.refusal.value)
            return ""
        self.metrics.screenshots.inc(outcome="read" if text else "nothing_read")
        self.metrics.screenshot_seconds.observe(loop.time() - started)
        return text

    async def _download_and_read(self, attachment: ImageAttachment, deadline: float) -> str:
        if self.downloader is None:
            raise ImageRefused(Refusal.DOWNLOAD_FAILED, "this reader does not download")
        check_declared(self.reader.limits, size=attachment.size, width=attachment.width, height=attachment.height)
        data = await self.downloader.fetch(attachment.url, deadline=deadline)
        return await self.read_image(data, deadline=deadline)

    async def close(self) -> None:
        if self.downloader is not None:
            await self.downloader.close()
        await self.reader.close()


def open_screenshots(settings: Settings, metrics: Metrics, *, download: bool = True) -> Screenshots:
    """The service configured by `settings` (`download=False`: for local files only). Raises OcrUnavailableError."""
    limits = ImageLimits(max_bytes=settings.ocr_max_bytes, max_pixels=settings.ocr_max_pixels)
    reader = ScreenshotReader(
        tessdata_dir(settings.ocr_tessdata_dir),
        limits,
        seconds=settings.ocr_timeout_seconds,
        concurrency=settings.ocr_concurrency,
    )
    downloader = AttachmentDownloader(settings.discord_cdn_hosts, settings.ocr_max_bytes) if download else None
    return Screenshots(reader, downloader, metrics)
