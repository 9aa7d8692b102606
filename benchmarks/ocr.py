"""Screenshots read with Tesseract: how often the answer equals the pasted text's, and the time per image.

Over the screenshots the tests render (tests/ocr/screenshots.py: 53 real error texts from the knowledge base in
phone alerts, desktop dialogs, notifications, terminals and bounce crops; light and dark; DejaVu Sans, Serif
and Mono 11-18 px; some JPEG at quality 30-60, some at 2x and 3x). Reported:
- what each step of the pipeline adds: the share of screenshots answered as their pasted text (same entry,
  same confident or not) and how alike the words read are to the words pasted (rapidfuzz ratio), each step
  added to the one above, read sequentially by one Tesseract instance;
- the shipped reader (bot.ocr, as the bot runs it): time per image read one at a time (median, p95, max),
  images per second with one and two workers, and the time for whole screens (a dialog on a 1920x1080
  desktop, an alert on a 1170x2532 phone).

Run from the repository root:  .venv/bin/python benchmarks/ocr.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import tesserocr  # noqa: E402 - after the path fix
from PIL import Image  # noqa: E402
from rapidfuzz import fuzz  # noqa: E402

from bot.conversation import Conversation, Incoming, NothingRecorded, Reply, effective_rules  # noqa: E402
from bot.knowledge.service import KnowledgeService  # noqa: E402
from bot.metrics import Metrics  # noqa: E402
from bot.ocr.image import ImageLimits, decode, prepare  # noqa: E402
from bot.ocr.reader import (  # noqa: E402
    DEBIAN_TESSDATA,
    LANGUAGE,
    TESSERACT_VARIABLES,
    ScreenshotReader,
    quiet_leptonica,
)
from bot.ocr.text import screenshot_question  # noqa: E402
from bot.settings import DEFAULT_KNOWLEDGE_DIR, Settings  # noqa: E402
from tests.ocr.screenshots import SHOTS, Shot  # noqa: E402

LIMITS = ImageLimits(max_bytes=10 * 1024 * 1024, max_pixels=25_000_000)
# Each step is added to the ones above it; the last row is what bot.ocr ships.
STEPS: list[tuple[str, dict[str, bool]]] = [
    ("Tesseract alone (global Otsu threshold)", {}),
    ("+ Sauvola local threshold", {"sauvola": True}),
    ("+ dark themes inverted", {"sauvola": True, "invert_dark": True}),
    ("+ small images scaled 2x", {"sauvola": True, "invert_dark": True, "upscale": True}),
    ("+ buttons and icon noise dropped", {"sauvola": True, "invert_dark": True, "upscale": True, "drop_chrome": True}),
    ("+ misread error codes mended (shipped)",
     {"sauvola": True, "invert_dark": True, "upscale": True, "drop_chrome": True, "mend": True}),
    ("shipped, but Otsu instead of Sauvola",
     {"invert_dark": True, "upscale": True, "drop_chrome": True, "mend": True}),
    ("shipped, but no 2x scaling", {"sauvola": True, "invert_dark": True, "drop_chrome": True, "mend": True}),
]  # fmt: skip


def words(text: str) -> str:
    return " ".join("".join(char if char.isalnum() else " " for char in text.lower()).split())


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def decisions(conversation: Conversation, texts: list[tuple[str, str | None]]) -> list[tuple[str | None, bool]]:
    rules = effective_rules(Settings(_env_file=None))  # type: ignore[call-arg]
    found = []
    for text, image_text in texts:
        reply = await conversation.decide(
            Incoming(text=text, author_id=1, channel_id=1, command=True, image_text=image_text), rules
        )
        assert isinstance(reply, Reply)
        found.append((reply.entry_id, reply.confident))
    return found


def read_with(step: dict[str, bool], images: list[bytes]) -> tuple[list[str], list[float]]:
    engine = tesserocr.PyTessBaseAPI(path=f"{DEBIAN_TESSDATA}/", lang=LANGUAGE)
    engine.SetVariable("thresholding_method", "2" if step.get("sauvola") else "0")
    texts, seconds = [], []
    try:
        for data in images:
            started = time.perf_counter()
            prepared = prepare(
                decode(data, LIMITS), invert_dark=step.get("invert_dark", False), upscale=step.get("upscale", False)
            )
            engine.SetImage(prepared)
            raw = engine.GetUTF8Text()
            seconds.append(time.perf_counter() - started)
            drop_chrome, mend = step.get("drop_chrome", False), step.get("mend", False)
            texts.append(screenshot_question(raw, drop_chrome=drop_chrome, mend=mend))
    finally:
        engine.End()
    return texts, seconds


def full_screen(shot: Shot, size: tuple[int, int]) -> bytes:
    """`shot` in the middle of a whole screen of its theme's background, as a PNG."""
    image = shot.image()
    screen = Image.new("RGB", size, image.getpixel((0, 0)))  # type: ignore[arg-type]
    screen.paste(image, ((size[0] - image.width) // 2, (size[1] - image.height) // 2))
    buffer = io.BytesIO()
    screen.save(buffer, "PNG")
    return buffer.getvalue()


async def shipped_reader(images: list[bytes], workers: int, rounds: int) -> tuple[list[float], float]:
    """Per-image seconds read one at a time (one worker), or images per second all at once."""
    reader = ScreenshotReader(DEBIAN_TESSDATA, LIMITS, seconds=30, concurrency=workers)
    try:
        await asyncio.gather(*(reader.read(data) for data in images[:workers]))  # load the model per worker
        per_image: list[float] = []
        started = time.perf_counter()
        for _ in range(rounds):
            if workers == 1:
                for data in images:
                    one = time.perf_counter()
                    await reader.read(data)
                    per_image.append(time.perf_counter() - one)
            else:
                await asyncio.gather(*(reader.read(data) for data in images))
        rate = rounds * len(images) / (time.perf_counter() - started)
    finally:
        await reader.close()
    return per_image, rate


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="passes over the set for the timings")
    args = parser.parse_args()

    started = time.perf_counter()
    images = [shot.encoded() for shot in SHOTS]
    rendered = time.perf_counter() - started
    sizes = [shot.image().size for shot in SHOTS]
    print(
        f"{len(SHOTS)} screenshots rendered in {rendered:.1f} s; {min(w * h for w, h in sizes) / 1e6:.2f}-"
        f"{max(w * h for w, h in sizes) / 1e6:.2f} megapixels; {sum(s.jpeg is not None for s in SHOTS)} JPEG"
    )
    knowledge = KnowledgeService(DEFAULT_KNOWLEDGE_DIR)
    conversation = Conversation(lambda: knowledge.current, NothingRecorded(), Metrics())
    pasted = await decisions(conversation, [(shot.pasted, None) for shot in SHOTS])
    print(f"pasted texts reaching their own entry: {sum(p[0] == s.entry for p, s in zip(pasted, SHOTS, strict=True))}"
          f"/{len(SHOTS)}, confident: {sum(p[1] for p in pasted)}/{len(SHOTS)}\n")

    quiet_leptonica(tesserocr.__file__)
    heading = "pipeline (one Tesseract instance, one at a time)"
    print(f"{heading:48} {'as pasted':>10} {'text':>5} {'median':>8} {'p95':>8}")
    for name, step in STEPS:
        texts, seconds = read_with(step, images)
        seen = await decisions(conversation, [("", text or None) for text in texts])
        same = sum(a == b for a, b in zip(seen, pasted, strict=True))
        # How close the words read are to the words pasted (rapidfuzz's ratio, 100 = the same).
        alike = statistics.mean(
            fuzz.ratio(words(text), words(shot.pasted)) for text, shot in zip(texts, SHOTS, strict=True)
        )
        print(
            f"{name:48} {same:>3}/{len(SHOTS)} {same / len(SHOTS):>5.0%} {alike:>4.0f}%"
            f" {statistics.median(seconds) * 1000:>6.0f} ms"
            f" {percentile(seconds, 0.95) * 1000:>5.0f} ms"
        )
        if name.endswith("(shipped)"):
            for shot, a, b, text in zip(SHOTS, seen, pasted, texts, strict=True):
                if a != b:
                    print(f"    differs: {shot.name}: pasted {b}, screenshot {a}, read {text!r}")

    print(f"\nshipped reader (bot.ocr.reader, {TESSERACT_VARIABLES}), {args.rounds} rounds:")
    per_image, rate_one = await shipped_reader(images, 1, args.rounds)
    print(
        f"  one worker: per image median {statistics.median(per_image) * 1000:.0f} ms, "
        f"p95 {percentile(per_image, 0.95) * 1000:.0f} ms, max {max(per_image) * 1000:.0f} ms; {rate_one:.1f} images/s"
    )
    _, rate_two = await shipped_reader(images, 2, args.rounds)
    print(f"  two workers: {rate_two:.1f} images/s")
    # Whole screens: a desktop dialog on a 1920x1080 screen, a phone alert on a 1170x2532 phone screen.
    screens = [full_screen(SHOTS[9], (1920, 1080)), full_screen(SHOTS[0], (1170, 2532))]
    per_screen, _ = await shipped_reader(screens, 1, args.rounds)
    print(
        f"  whole screens (1920x1080 desktop, 1170x2532 phone): median {statistics.median(per_screen) * 1000:.0f} ms,"
        f" max {max(per_screen) * 1000:.0f} ms"
    )
    print(f"\nmachine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    asyncio.run(main())
