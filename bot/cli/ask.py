"""`guidenest ask`: the bot's answer to a question or a pasted error, as `/ask` gives it."""

from __future__ import annotations

import asyncio
import dataclasses
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.cli.common import add_level_option, console_conversation, level_of, load_service, print_json
from bot.conversation import Incoming, Reply, effective_rules

if TYPE_CHECKING:
    import argparse

    from bot.matching.matcher import MatchResult
    from bot.settings import Settings


def register(subcommands: Any) -> None:
    ask = subcommands.add_parser(
        "ask",
        help="answer a question or a pasted error",
        description="Answer one question, or with no question one per line from standard input.",
    )
    ask.add_argument("question", nargs="?", help="the question or error text; omit to read lines from stdin")
    ask.add_argument("--json", action="store_true", help="JSON (JSON Lines when reading stdin)")
    ask.add_argument(
        "--image",
        metavar="FILE",
        type=Path,
        help="read the question from a screenshot (PNG, JPEG, WebP or GIF) with Tesseract, as the bot reads "
        "attachments; a QUESTION given too is asked with it",
    )
    add_level_option(ask)
    ask.set_defaults(handler=run_ask)


def result_json(question: str, result: MatchResult | None) -> dict[str, Any]:
    best = result.best if result is not None else None
    return {
        "question": question,
        "confident": result is not None and result.confident,
        "match": None
        if best is None
        else {
            "id": best.entry.id,
            "title": best.entry.title,
            "score": best.score,
            "answer": best.entry.answer,
        },
        "suggestions": []
        if result is None
        else [{"id": s.entry.id, "title": s.entry.title, "score": s.score} for s in result.suggestions],
    }


# What the bot's /ask says too: the question held only spaces, invisible characters, empty code or mentions.
NOTHING_TO_LOOK_UP = (
    "Nothing to look up: only spaces, invisible characters, empty code or mentions. "
    "Type a question or paste the error your mail program shows."
)


def _read_image_file(path: Path, settings: Settings) -> str | int:
    """The question read from the screenshot at `path`, or the exit code after saying on stderr why there is
    none: 2 the file or OCR cannot be used, 3 the image guard refused it, 1 no text was read."""
    from bot.metrics import Metrics
    from bot.ocr import ImageRefused, OcrUnavailableError
    from bot.ocr.image import ImageLimits, check_declared
    from bot.ocr.service import open_screenshots

    try:
        # The byte cap before the file is read in: it may be anything.
        check_declared(ImageLimits(settings.ocr_max_bytes, settings.ocr_max_pixels), size=path.stat().st_size)
        data = path.read_bytes()
        screenshots = open_screenshots(settings, Metrics(), download=False)
    except OSError as exc:
        print(f"guidenest ask: cannot read {path}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except OcrUnavailableError as exc:
        print(f"guidenest ask: screenshots cannot be read here: {exc}", file=sys.stderr)
        return 2
    except ImageRefused as exc:
        print(f"guidenest ask: {path} was not read: {exc}", file=sys.stderr)
        return 3

    async def read() -> str:
        try:
            return await screenshots.read_image(data)
        finally:
            await screenshots.close()

    try:
        text = asyncio.run(read())
    except ImageRefused as exc:
        print(f"guidenest ask: {path} was not read: {exc}", file=sys.stderr)
        return 3
    if not text:
        print(f"guidenest ask: no text could be read in {path}", file=sys.stderr)
        return 1
    return text


def run_ask(args: argparse.Namespace, settings: Settings) -> int:
    from bot.cards.output import print_card
    from bot.conversation import clean_question

    if args.image is not None:
        return _ask_about_image(args, settings)
    if args.question is not None:
        if not clean_question(args.question):
            print(f"guidenest ask: {NOTHING_TO_LOOK_UP}", file=sys.stderr)
            return 2
        questions = [args.question]
    elif sys.stdin.isatty():
        print("guidenest ask: give a question, or pipe questions in, one per line.", file=sys.stderr)
        return 2
    else:
        # Lines with nothing to look up (blank, invisible characters, a bare mention) are skipped.
        questions = [line.rstrip("\n") for line in sys.stdin if clean_question(line)]
    service = load_service(settings)
    if service is None:
        return 1
    rules = dataclasses.replace(effective_rules(settings), confidence=level_of(args, settings))
    # Asked by command, as /ask is: the same decision, the same card; nothing is stored.
    conversation = console_conversation(service)
    with asyncio.Runner() as runner:
        for question in questions:
            incoming = Incoming(text=question, author_id=0, channel_id=0, command=True)
            reply = runner.run(conversation.decide(incoming, rules))
            if not isinstance(reply, Reply):  # a command is always answered; the type allows silence
                continue
            if args.json:
                print_json(result_json(question, reply.match), lines=args.question is None)
            else:
                print_card(reply.card)
                if len(questions) > 1:
                    print()
    return 0


def _ask_about_image(args: argparse.Namespace, settings: Settings) -> int:
    """`ask --image FILE [QUESTION]`: the screenshot's text, with the question if any, asked as one."""
    from bot.cards.output import print_card

    image_text = _read_image_file(args.image, settings)
    if isinstance(image_text, int):
        return image_text
    service = load_service(settings)
    if service is None:
        return 1
    rules = dataclasses.replace(effective_rules(settings), confidence=level_of(args, settings))
    question = args.question or ""
    incoming = Incoming(text=question, author_id=0, channel_id=0, command=True, image_text=image_text)
    reply = asyncio.run(console_conversation(service).decide(incoming, rules))
    if not isinstance(reply, Reply):  # a command is always answered; the type allows silence
        return 1
    if args.json:
        print_json({**result_json(question, reply.match), "image_text": image_text})
    else:
        print_card(reply.card)
    return 0
