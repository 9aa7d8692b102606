"""The reader: Tesseract off the event loop, its time budget, its concurrency limit, and what it says when
Tesseract cannot be used."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from functools import cache
from typing import TYPE_CHECKING

import pytest
from PIL import Image, ImageDraw

from bot.ocr import ImageRefused, OcrUnavailableError, Refusal
from bot.ocr.reader import DEBIAN_TESSDATA, ScreenshotReader, check_engine, tessdata_dir
from tests.ocr.conftest import LIMITS
from tests.ocr.images import animated_gif, encode, png_bomb, text_image
from tests.ocr.screenshots import SHOTS, font

if TYPE_CHECKING:
    from pathlib import Path


@cache
def dense_page(lines: int = 80) -> bytes:
    """A page of small text that takes Tesseract seconds to read."""
    face = font("sans", 13)
    image = Image.new("L", (1400, lines * 18 + 20), 255)
    draw = ImageDraw.Draw(image)
    for index in range(lines):
        draw.text((10, 10 + index * 18), f"{index} 535 5.7.8 Username and Password not accepted " * 2, font=face)
    return encode(image)


async def test_reads_the_text_of_an_image(reader: ScreenshotReader) -> None:
    text = await reader.read(encode(text_image("535 5.7.8 Username and Password not accepted")))
    assert "Username and Password not accepted" in text


async def test_reads_a_dark_theme(reader: ScreenshotReader) -> None:
    text = await reader.read(encode(text_image("Relay access denied", dark=True), "JPEG", quality=40))
    assert "Relay access denied" in text


async def test_reads_the_first_frame_of_an_animated_gif(reader: ScreenshotReader) -> None:
    text = await reader.read(animated_gif("Relay access denied", "Mailbox unavailable"))
    assert "Relay access denied" in text
    assert "unavailable" not in text


async def test_the_event_loop_stays_free_while_reading(reader: ScreenshotReader) -> None:
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(tick())
    started = time.perf_counter()
    await reader.read(dense_page(12))
    elapsed = time.perf_counter() - started
    ticker.cancel()
    assert elapsed > 0.1
    assert ticks >= elapsed / 0.01 * 0.5  # the loop kept ticking during the read


async def test_a_refused_image_is_refused_by_the_reader(reader: ScreenshotReader) -> None:
    with pytest.raises(ImageRefused) as refused:
        await reader.read(png_bomb(6000, 6000))
    assert refused.value.refusal is Refusal.TOO_LARGE


async def test_an_image_past_its_budget_is_refused_on_time() -> None:
    reader = ScreenshotReader(DEBIAN_TESSDATA, LIMITS, seconds=0.3, concurrency=1)
    try:
        started = time.perf_counter()
        with pytest.raises(ImageRefused) as refused:
            await reader.read(dense_page())
        assert time.perf_counter() - started < 0.6
        assert refused.value.refusal is Refusal.TOO_SLOW
        assert "longer than 0.3 s" in str(refused.value)
    finally:
        await reader.close()


async def test_no_more_images_than_the_limit_are_read_at_once() -> None:
    # One worker: while it reads a slow page, the next image waits, and the wait counts against its budget.
    reader = ScreenshotReader(DEBIAN_TESSDATA, LIMITS, seconds=5, concurrency=1)
    try:
        slow = asyncio.create_task(reader.read(dense_page(40)))
        await asyncio.sleep(0.05)
        loop = asyncio.get_running_loop()
        with pytest.raises(ImageRefused) as refused:
            await reader.read(encode(text_image("535")), deadline=loop.time() + 0.2)
        assert refused.value.refusal is Refusal.TOO_SLOW
        assert "no OCR worker came free" in str(refused.value)
        assert not slow.done()
        assert "535" in await slow
        # Once the worker is free, the next image is read.
        assert "535" in await reader.read(encode(text_image("535 5.7.8")))
    finally:
        await reader.close()


async def test_a_closed_reader_refuses() -> None:
    reader = ScreenshotReader(DEBIAN_TESSDATA, LIMITS, seconds=5, concurrency=1)
    await reader.read(encode(text_image("535")))
    await reader.close()
    with pytest.raises(ImageRefused):
        await reader.read(encode(text_image("535")))


def test_no_english_data_says_how_to_install_it(tmp_path: Path) -> None:
    with pytest.raises(OcrUnavailableError) as missing:
        check_engine(tmp_path)
    assert f"no eng.traineddata in {tmp_path}" in str(missing.value)
    assert "apt install tesseract-ocr tesseract-ocr-eng" in str(missing.value)


def test_tesserocr_not_installed_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tesserocr", None)  # what `import tesserocr` meets when it is absent
    with pytest.raises(OcrUnavailableError) as missing:
        ScreenshotReader(DEBIAN_TESSDATA, LIMITS, seconds=5, concurrency=1)
    assert "tesserocr is not installed" in str(missing.value)
    assert "pip install 'guidenest-bot[ocr]'" in str(missing.value)


def test_tessdata_comes_from_the_setting_then_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("TESSDATA_PREFIX", raising=False)
    assert tessdata_dir(None) == DEBIAN_TESSDATA
    monkeypatch.setenv("TESSDATA_PREFIX", str(tmp_path))
    assert tessdata_dir(None) == tmp_path
    assert tessdata_dir(DEBIAN_TESSDATA) == DEBIAN_TESSDATA


def test_leptonicas_diagnostics_stay_off_stderr(tmp_path: Path) -> None:
    # Sauvola thresholding makes Leptonica print "Error in boxClipToRectangle" for this dark JPEG dialog; the
    # message is harmless and must not look like the bot's error. A subprocess, so stderr is the real fd 2.
    noisy = next(shot for shot in SHOTS if shot.name == "dialog-thunderbird-exchange-ews-dark-serif16-jpeg60")
    image = tmp_path / "dialog.jpg"
    image.write_bytes(noisy.encoded())
    script = (
        "import asyncio, pathlib, sys\n"
        "from bot.ocr.reader import DEBIAN_TESSDATA, ScreenshotReader\n"
        "from bot.ocr.image import ImageLimits\n"
        "async def main():\n"
        "    reader = ScreenshotReader(DEBIAN_TESSDATA, ImageLimits(10**7, 10**7), seconds=10, concurrency=1)\n"
        "    print(await reader.read(pathlib.Path(sys.argv[1]).read_bytes()))\n"
        "    await reader.close()\n"
        "asyncio.run(main())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(image)], capture_output=True, text=True, timeout=60, check=True
    )
    assert "selecting another protocol" in done.stdout
    assert done.stderr == ""
