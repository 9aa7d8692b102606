"""`guidenest ask` and `guidenest chat`: the bot's answers, in a terminal."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.answering import clean_question
from bot.cli.common import load_service, print_json
from bot.cli.lookup import port_reply, provider_reply
from bot.render import result_card
from bot.settings import Confidence, Settings

if TYPE_CHECKING:
    import argparse

    from bot.knowledge.service import KnowledgeService
    from bot.matching.matcher import MatchResult


def register(subcommands: Any) -> None:
    ask = subcommands.add_parser(
        "ask",
        help="answer a question or a pasted error",
        description="Answer one question, or with no question one per line from standard input.",
    )
    ask.add_argument("question", nargs="?", help="the question or error text; omit to read lines from stdin")
    ask.add_argument("--json", action="store_true", help="JSON (JSON Lines when reading stdin)")
    _level_option(ask)
    ask.set_defaults(handler=run_ask)

    chat = subcommands.add_parser(
        "chat",
        help="an interactive console that answers as the bot would",
        description="Type a question or paste an error. /port QUERY, /provider NAME, /help, /quit.",
    )
    _level_option(chat)
    chat.set_defaults(handler=run_chat)


def _level_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--level",
        choices=[level.value for level in Confidence],
        default=None,
        help="how sure the matcher must be to call an answer confident (default: GUIDENEST_DEFAULT_CONFIDENCE)",
    )


def result_json(question: str, result: MatchResult) -> dict[str, Any]:
    best = result.best
    return {
        "question": question,
        "confident": result.confident,
        "match": None
        if best is None
        else {
            "id": best.entry.id,
            "title": best.entry.title,
            "score": best.score,
            "answer": best.entry.answer,
        },
        "suggestions": [
            {"id": s.entry.id, "title": s.entry.title, "score": s.score} for s in result.suggestions
        ],
    }


def _level(args: argparse.Namespace, settings: Settings) -> Confidence:
    return Confidence(args.level) if args.level else settings.default_confidence


def run_ask(args: argparse.Namespace, settings: Settings) -> int:
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
    level = _level(args, settings)
    for question in questions:
        # The same cleaning as the bot's, so the same text gets the same answer.
        result = service.current.matcher.match(clean_question(question), level=level)
        if args.json:
            print_json(result_json(question, result), lines=args.question is None)
        else:
            print(result_card(result).to_text())
            if len(questions) > 1:
                print()
    return 0


# What the bot's /ask says too: the question held only spaces, invisible characters, empty code or mentions.
NOTHING_TO_LOOK_UP = (
    "Nothing to look up: only spaces, invisible characters, empty code or mentions. "
    "Type a question or paste the error your mail program shows."
)

CHAT_HELP = """Ask anything about setting up email: a question ("which port for imap?"), a pasted error
("535 5.7.8 Username and Password not accepted"), or one of:
  /port [QUERY]     mail ports (imap, 993, smtp starttls)
  /provider NAME    a provider's settings (gmail, outlook.com)
  /help             this text
  /quit             leave (or Ctrl-D)"""

# A word after a slash, like the console's commands; a pasted path (/var/log/mail.log) has more slashes.
_COMMAND_WORD = re.compile(r"/[A-Za-z][\w-]*")


def chat_reply(service: KnowledgeService, line: str, level: Confidence) -> str | None:
    """The console's reply to one line; None means quit."""
    text = line.strip()
    command, _, rest = text.partition(" ")
    name = command.lower()  # /Port works as /port
    if name in {"/quit", "/exit"}:
        return None
    if name == "/help":
        return CHAT_HELP
    knowledge = service.current.knowledge
    if name == "/port":
        return port_reply(knowledge, rest.strip())
    if name == "/provider":
        return provider_reply(knowledge, rest.strip())
    if _COMMAND_WORD.fullmatch(command):
        # Not a question: answering "/unknown" with the "name not known" entry would only confuse.
        return f"There is no {command} command here. /help lists the commands."
    if not text:
        return ""
    question = clean_question(text)
    if not question:
        return NOTHING_TO_LOOK_UP
    return result_card(service.current.matcher.match(question, level=level)).to_text()


def run_chat(args: argparse.Namespace, settings: Settings) -> int:
    service = load_service(settings)
    if service is None:
        return 1
    level = _level(args, settings)
    entries = len(service.current.knowledge.entries)
    print(f"Guide Nest — {entries} answers on email setup. /help for commands, /quit to leave.")
    if sys.stdin.isatty() and sys.stdout.isatty():
        return _interactive(service, level)
    # Piped input: the same replies, one per line, without line editing.
    for line in sys.stdin:
        reply = chat_reply(service, line, level)
        if reply is None:
            break
        if reply:
            print(reply + "\n")
    return 0


def _interactive(service: KnowledgeService, level: Confidence) -> int:
    from prompt_toolkit import PromptSession
    from prompt_toolkit.history import FileHistory

    history = Path.home() / ".local" / "state" / "guidenest" / "chat-history"
    history.parent.mkdir(parents=True, exist_ok=True)
    session: PromptSession[str] = PromptSession(history=FileHistory(str(history)))
    while True:
        try:
            line = session.prompt("you> ")
        except EOFError:
            return 0
        except KeyboardInterrupt:
            continue  # Ctrl-C clears the line, as in a shell
        reply = chat_reply(service, line, level)
        if reply is None:
            return 0
        if reply:
            print(reply + "\n")
