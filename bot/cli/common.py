"""Small pieces the command-line areas share."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

from bot.conversation import Conversation, NothingRecorded
from bot.knowledge.loader import KnowledgeError, check_knowledge, load_knowledge
from bot.knowledge.service import KnowledgeService
from bot.metrics import Metrics
from bot.settings import Confidence

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable

    from bot.knowledge.model import KnowledgeBase
    from bot.settings import Settings


def prints_help(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace, Settings], int]:
    """The handler of a command given without its action (`guidenest`, `guidenest kb`): its help, exit 0."""

    def handler(args: argparse.Namespace, settings: Settings) -> int:
        del args, settings
        parser.print_help()
        return 0

    return handler


def load_service(settings: Settings) -> KnowledgeService | None:
    """The knowledge in use, or None after telling the user every problem in it."""
    try:
        return KnowledgeService(settings.knowledge_dir)
    except KnowledgeError as exc:
        if any(problem.path == settings.knowledge_dir for problem in exc.problems):
            # The folder itself is missing or not a folder: the one line says what to do; there is nothing to check.
            print(f"guidenest: {exc}", file=sys.stderr)
            return None
        print(f"guidenest: the knowledge in {settings.knowledge_dir} has errors:", file=sys.stderr)
        print(str(exc), file=sys.stderr)
        print("Run `guidenest kb check` for the full report.", file=sys.stderr)
        return None


def knowledge_for_cards(settings: Settings) -> KnowledgeBase | None:
    """The knowledge that explains a probe's finding; when it has errors, the finding is shown without it."""
    try:
        return load_knowledge(settings.knowledge_dir)
    except KnowledgeError:
        print(
            f"guidenest: the knowledge in {settings.knowledge_dir} could not be loaded, so the explanation is left "
            "out; `guidenest kb check` says why.",
            file=sys.stderr,
        )
        return None


def checked_knowledge(settings: Settings) -> KnowledgeBase | None:
    """The knowledge, or None after printing its errors (as `guidenest kb check` does) to stderr."""
    knowledge, problems = check_knowledge(settings.knowledge_dir)
    if knowledge is None:
        for problem in problems:
            if problem.severity == "error":
                print(problem.format(settings.knowledge_dir), file=sys.stderr)
    return knowledge


def print_json(value: Any, *, lines: bool = False) -> None:
    """Pretty JSON for one result; one compact line per result for JSON Lines."""
    if lines:
        print(json.dumps(value, ensure_ascii=False, separators=(",", ":")))
    else:
        print(json.dumps(value, ensure_ascii=False, indent=2))


def add_level_option(parser: argparse.ArgumentParser) -> None:
    """`--level`, for the commands that answer questions (`ask`, `chat`)."""
    parser.add_argument(
        "--level",
        choices=[level.value for level in Confidence],
        default=None,
        help="how sure the matcher must be to call an answer confident (default: GUIDENEST_DEFAULT_CONFIDENCE)",
    )


def level_of(args: argparse.Namespace, settings: Settings) -> Confidence:
    return Confidence(args.level) if args.level else settings.default_confidence


def console_conversation(service: KnowledgeService) -> Conversation:
    """The bot's conversation over the knowledge in use, recording nothing: questions typed on a terminal are
    not a community's misses."""
    return Conversation(lambda: service.current, NothingRecorded(), Metrics())
