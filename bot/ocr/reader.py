"""Tesseract through tesserocr, off the event loop: a few worker threads, each with its own Tesseract instance
(loading the English model takes a while, and one instance must not be used by two threads at once), a limit on
images read at once, and a time budget per image that counts the wait for a free worker too.

Tesseract stops recognising at the budget (Recognize(timeout=…)); its layout analysis, which comes first, cannot
be interrupted, so the caller's asyncio deadline answers on time and the worker finishes in the background while
keeping its slot.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.ocr import ImageRefused, OcrUnavailableError, Refusal
from bot.ocr.image import decode, prepare

if TYPE_CHECKING:
    from bot.ocr.image import ImageLimits

# Where Debian's tesseract-ocr-eng puts the English model.
DEBIAN_TESSDATA = Path("/usr/share/tesseract-ocr/5/tessdata")
LANGUAGE = "eng"
# Sauvola's local thresholding instead of one global (Otsu) threshold: an alert's grey panel on a dimmed screen
# otherwise turns black along with its text (benchmarks/ocr.py measures it).
TESSERACT_VARIABLES = {"thresholding_method": "2"}
# Leptonica's "no messages" level: its diagnostics ("Error in boxClipToRectangle") go to stderr, not the log.
_LEPTONICA_SEVERITY_NONE = 6
INSTALL_HINT = (
    "install the OCR extra (pip install 'guidenest-bot[ocr]') and Tesseract's English data "
    "(Debian: apt install tesseract-ocr tesseract-ocr-eng)"
)


def tessdata_dir(configured: Path | None) -> Path:
    """The folder of Tesseract's language data: the setting, else TESSDATA_PREFIX, else Debian's."""
    if configured is not None:
        return configured
    prefix = os.environ.get("TESSDATA_PREFIX")
    return Path(prefix) if prefix else DEBIAN_TESSDATA


def check_engine(tessdata: Path) -> None:
    """Raise OcrUnavailableError, saying what is missing, unless tesserocr, Pillow and the English data are here."""
    try:
        import PIL.Image  # noqa: F401 - only whether it imports
        import tesserocr
    except ImportError as exc:
        raise OcrUnavailableError(f"{exc.name or 'tesserocr'} is not installed; {INSTALL_HINT}") from None
    _, languages = tesserocr.get_languages(f"{tessdata}/")
    if LANGUAGE not in languages:
        raise OcrUnavailableError(f"there is no {LANGUAGE}.traineddata in {tessdata}; {INSTALL_HINT}")


def quiet_leptonica(tesserocr_file: str) -> None:
    """Silence Leptonica (the image library inside Tesseract), found beside tesserocr's module or the system's.

    Its messages about boxes it clips are harmless, and otherwise appear on the bot's stderr as "Error in …".
    """
    bundled = sorted(Path(tesserocr_file).parent.parent.glob("tesserocr.libs/libleptonica*.so*"))
    name = str(bundled[0]) if bundled else ctypes.util.find_library("leptonica")
    if name is None:
        return
    try:
        ctypes.CDLL(name).setMsgSeverity(_LEPTONICA_SEVERITY_NONE)
    except (OSError, AttributeError):
        return  # another build of the library: its messages stay


class ScreenshotReader:
    """Reads the text in images; `await read(data)`, then `close()` once."""

    def __init__(self, tessdata: Path, limits: ImageLimits, *, seconds: float, concurrency: int) -> None:
        check_engine(tessdata)
        import tesserocr

        quiet_leptonica(tesserocr.__file__)
        self.limits = limits
        self.seconds = seconds
        self._tessdata = tessdata
        self._executor = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="guidenest-ocr")
        # Taken before a job is handed to a worker, given back when the worker is done with it (not when the
        # caller stops waiting), so no more than `concurrency` images are ever in Tesseract's hands.
        self._slots = asyncio.Semaphore(concurrency)
        self._local = threading.local()
        self._engines: list[Any] = []  # every thread's Tesseract instance, ended on close
        self._engines_lock = threading.Lock()

    async def read(self, data: bytes, *, deadline: float | None = None) -> str:
        """Tesseract's text of the image in `data` (maybe ""), by `deadline` (the event loop's clock; default:
        the budget from now). Raises ImageRefused."""
        loop = asyncio.get_running_loop()
        if deadline is None:
            deadline = loop.time() + self.seconds
        try:
            async with asyncio.timeout_at(deadline):
                await self._slots.acquire()
        except TimeoutError:
            raise ImageRefused(Refusal.TOO_SLOW, "no OCR worker came free within the time budget") from None
        try:
            job = self._executor.submit(self._read_blocking, data, time.monotonic() + deadline - loop.time())
        except RuntimeError:  # closed meanwhile
            self._slots.release()
            raise ImageRefused(Refusal.TOO_SLOW, "the OCR reader is shutting down") from None
        job.add_done_callback(lambda _: loop.call_soon_threadsafe(self._slots.release))
        try:
            async with asyncio.timeout_at(deadline):
                # On time-out this stops the wait, not the worker: a job already running cannot be cancelled.
                return await asyncio.wrap_future(job)
        except TimeoutError:
            raise ImageRefused(Refusal.TOO_SLOW, f"reading took longer than {self.seconds:g} s") from None

    def _engine(self) -> Any:
        engine = getattr(self._local, "engine", None)
        if engine is None:
            import tesserocr

            engine = tesserocr.PyTessBaseAPI(path=f"{self._tessdata}/", lang=LANGUAGE)
            for name, value in TESSERACT_VARIABLES.items():
                engine.SetVariable(name, value)
            self._local.engine = engine
            with self._engines_lock:
                self._engines.append(engine)
        return engine

    def _read_blocking(self, data: bytes, deadline: float) -> str:
        """In a worker thread: decode, prepare, recognise within the time left until `deadline` (monotonic)."""
        image = decode(data, self.limits)
        try:
            prepared = prepare(image)
        except Exception as exc:  # noqa: BLE001 - a mode Pillow cannot convert is a damaged image to us
            raise ImageRefused(Refusal.DAMAGED, f"the image could not be converted ({type(exc).__name__})") from None
        engine = self._engine()
        left_ms = int((deadline - time.monotonic()) * 1000)
        if left_ms <= 0:
            raise ImageRefused(Refusal.TOO_SLOW, f"reading took longer than {self.seconds:g} s")
        try:
            engine.SetImage(prepared)
            finished = engine.Recognize(timeout=left_ms)
        except RuntimeError:  # tesserocr's word for an image Tesseract would not take
            raise ImageRefused(Refusal.DAMAGED, "Tesseract could not take the image") from None
        if not finished:
            raise ImageRefused(Refusal.TOO_SLOW, f"reading took longer than {self.seconds:g} s")
        return str(engine.GetUTF8Text())

    async def close(self) -> None:
        """Wait for running reads to finish, then free every Tesseract instance."""
        await asyncio.to_thread(self._executor.shutdown, wait=True, cancel_futures=True)
        with self._engines_lock:
            engines, self._engines = self._engines, []
        for engine in engines:
            engine.End()
