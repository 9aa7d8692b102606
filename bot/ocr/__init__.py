"""Screenshots read with Tesseract: the image guard, the reader, the download guard and the text cleanup.

Core: no Discord here. The answers cog (bot/exts/screenshots.py) and `guidenest ask --image` both go through
`Screenshots` (service.py): an image is checked before it is decoded (`image.py`), read off the event loop with
a time budget and a concurrency limit (`reader.py`), fetched only from Discord's attachment hosts
(`download.py`), and its text turned into a question (`text.py`). Tesseract (tesserocr) and Pillow are an
optional extra, `pip install 'guidenest-bot[ocr]'`; without them `OcrUnavailableError` says how to install them.
"""

from __future__ import annotations

from enum import Enum


class Refusal(Enum):
    """Why an image was not read; the value labels the metric."""

    NOT_AN_IMAGE = "not_an_image"
    TOO_LARGE = "too_large"  # bytes, pixels, or a decompression bomb
    DAMAGED = "damaged"
    TOO_SLOW = "too_slow"  # past its time budget, waiting for a slot included
    HOST_NOT_ALLOWED = "host_not_allowed"
    DOWNLOAD_FAILED = "download_failed"


class ImageRefused(Exception):  # noqa: N818 - a refusal, like the probe's ProbeRefused: not the bot's error
    """An image the bot does not read; the message says why in one line, for a log or the command line."""

    def __init__(self, refusal: Refusal, message: str) -> None:
        super().__init__(message)
        self.refusal = refusal


class OcrUnavailableError(Exception):
    """Tesseract cannot be used here; the message says what is missing and how to install it."""
