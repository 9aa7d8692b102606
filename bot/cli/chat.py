"""`guidenest chat`: a console that answers as the bot would, through the bot's own conversation service.

Each line typed (or a multi-line paste: a log, a traceback) is a message to the bot, decided by
`bot.conversation` with the bot's settings: the same answers, "not sure" replies, pointers to an answer just
given, and silences, which the console explains instead of printing nothing. Nothing is stored.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rapidfuzz import fuzz, process

from bot.cards.answers import entry_card
from bot.cli.common import add_level_option, console_conversation, level_of, load_service
from bot.cli.lookup import port_lookup_card, provider_lookup_card
from bot.conversation import (
    Incoming,
    Reply,
    ReplyKind,
    Silence,
    Silent,
    effective_rules,
)

if TYPE_CHECKING:
    import argparse
    from collections.abc import Iterable

    from prompt_toolkit.completion import CompleteEvent, Completion
    from prompt_toolkit.document import Document

    from bot.knowledge.service import KnowledgeService
    from bot.settings import Confidence, Settings

# The console is one member in one channel (or a direct message) of its own.
CONSOLE_USER = 1
CONSOLE_CHANNEL = 1

WHERE_CHOICES = ("mention", "channel")

CHAT_HELP = """Ask anything about setting up email: a question ("which port for imap?"), a pasted error
("535 5.7.8 Username and Password not accepted") or a whole log (paste it; it is one question), or one of:
  /port [QUERY]     mail ports (imap, 993, smtp starttls)
  /provider NAME    a provider's settings (gmail, outlook.com, me@live.nl)
  /entry ID         one answer of the knowledge base by its id (Tab completes ids)
  /help             this text
  /quit             leave (or Ctrl-D)"""

COMMANDS = ("/port", "/provider", "/entry", "/help", "/quit")

# A word after a slash, like the console's commands; a pasted path (/var/log/mail.log) has more slashes.
_COMMAND_WORD = re.compile(r"/[A-Za-z][\w-]*")

# Why the bot said nothing, as the console says it.
SILENCE_TEXT = {
    Silence.NOT_CONSIDERED: "The bot would not read this message.",
    Silence.EMPTY: "Nothing to look up in that message, so the bot would say nothing.",
    Silence.UNSURE: "In a help channel the bot would stay silent here: no answer is confident enough.",
    Silence.UNSURE_REPLY: "The bot would stay silent here: no answer is confident enough.",
    Silence.COOLING: "The bot would stay silent: it gave this answer here moments ago.",
    Silence.RATE_LIMITED: "The bot would not answer: you are over its answer limit "
    "(GUIDENEST_USER_RATE_LIMIT answers in GUIDENEST_USER_RATE_WINDOW_SECONDS).",
}


@dataclasses.dataclass(frozen=True, slots=True)
class Said:
    """What the console prints for one input: a card, or plain text (help, a silence explained)."""

    card: Any = None  # a bot.cards Card
    text: str = ""
    quiet: bool = False  # a note about the bot's silence, shown dimmed on a terminal


class Console:
    """One console session: its own conversation (cooldowns, limits) over the knowledge in use."""

    def __init__(self, service: KnowledgeService, settings: Settings, level: Confidence, where: str) -> None:
        self.service = service
        self.conversation = console_conversation(service)
        rules = effective_rules(settings)
        # "channel": as a message in a help channel the bot watches; "mention": as a message that mentions it.
        channels = frozenset({CONSOLE_CHANNEL}) if where == "channel" else frozenset()
        self.rules = dataclasses.replace(rules, confidence=level, enabled_channels=channels)
        self.where = where
        # The console's stand-in for Discord's message ids: answer 1, 2, … as printed.
        self._answers_given: dict[int, str] = {}

    def say(self, line: str) -> Said | None:
        """The console's reply to one input; None means quit."""
        return asyncio.run(self._say(line))

    async def _say(self, line: str) -> Said | None:
        text = line.strip()
        command, _, rest = text.partition(" ")
        name = command.lower()  # /Port works as /port
        knowledge = self.service.current.knowledge
        if name in {"/quit", "/exit"}:
            return None
        if name == "/help":
            return Said(text=CHAT_HELP)
        if name == "/port":
            return Said(card=port_lookup_card(knowledge, rest.strip()))
        if name == "/provider":
            return Said(card=provider_lookup_card(knowledge, rest.strip()))
        if name == "/entry":
            return self._entry(rest.strip())
        if _COMMAND_WORD.fullmatch(command):
            # Not a question: answering "/unknown" with the "name not known" entry would only confuse.
            return Said(text=f"There is no {command} command here. /help lists the commands.")
        if not text:
            return Said()
        incoming = Incoming(
            text=line,
            author_id=CONSOLE_USER,
            channel_id=CONSOLE_CHANNEL,
            addressed=self.where == "mention",
        )
        decision = await self.conversation.decide(incoming, self.rules)
        if isinstance(decision, Silent):
            return Said(text=self._silence(decision), quiet=True)
        message_id = len(self._answers_given) + 1
        await self.conversation.delivered(incoming, decision, self.rules, message_id)
        return self._shown(decision, message_id)

    def _shown(self, reply: Reply, message_id: int) -> Said:
        if reply.kind is ReplyKind.POINT_BACK:
            earlier = reply.earlier_message_id or 0
            title = self._answers_given.get(earlier, "")
            return Said(
                text=f"I answered that just above (answer {earlier}: {title}). "
                f"/entry {reply.entry_id} shows it again."
            )
        if reply.kind is ReplyKind.ANSWER and reply.entry_id is not None:
            self._answers_given[message_id] = reply.card.title
        return Said(card=reply.card)

    @staticmethod
    def _silence(silent: Silent) -> str:
        text = SILENCE_TEXT[silent.why]
        if silent.best is not None and silent.why in {Silence.UNSURE, Silence.UNSURE_REPLY}:
            text += f" Closest: {silent.best.entry.title} ({silent.best.score:.0f}%)."
        return f"({text})"

    def _entry(self, entry_id: str) -> Said:
        knowledge = self.service.current.knowledge
        if not entry_id:
            return Said(text="Which entry? Give its id, e.g. /entry imap-ports (Tab completes ids).")
        entry = knowledge.entry(entry_id.lower())
        if entry is not None:
            return Said(card=entry_card(entry))
        ids = list(knowledge.entries)
        nearest = [match for match, _score, _index in process.extract(entry_id, ids, scorer=fuzz.WRatio, limit=3)]
        hint = f" Did you mean {', '.join(nearest)}?" if nearest else ""
        return Said(text=f"There is no entry {entry_id}.{hint}")

    def completions(self, before_cursor: str) -> list[str]:
        """What Tab offers: command names after a slash, entry ids after `/entry `."""
        if before_cursor.lower().startswith("/entry "):
            typed = before_cursor[len("/entry ") :].strip().lower()
            return [i for i in self.service.current.knowledge.entries if i.startswith(typed)]
        if " " not in before_cursor and before_cursor.startswith("/"):
            return [c for c in COMMANDS if c.startswith(before_cursor.lower())]
        return []


def register(subcommands: Any) -> None:
    chat = subcommands.add_parser(
        "chat",
        help="an interactive console that answers as the bot would",
        description="Type a question or paste an error or a log (a paste is one question). "
        "/port QUERY, /provider NAME, /entry ID, /help, /quit.",
    )
    add_level_option(chat)
    chat.add_argument(
        "--as",
        dest="where",
        choices=WHERE_CHOICES,
        default="mention",
        help="answer as to a message that mentions the bot (default: always replies, 'not sure' when unsure) "
        "or as to one in a help channel it watches (silent unless confident)",
    )
    chat.set_defaults(handler=run_chat)


def run_chat(args: argparse.Namespace, settings: Settings) -> int:
    from bot.cards.output import print_card, print_note

    service = load_service(settings)
    if service is None:
        return 1
    console = Console(service, settings, level_of(args, settings), args.where)
    entries = len(service.current.knowledge.entries)
    print(f"Guide Nest — {entries} answers on email setup. /help for commands, /quit to leave.")
    if sys.stdin.isatty() and sys.stdout.isatty():
        return _interactive(console)
    # Piped input: one question per line, the same replies, without line editing.
    for line in sys.stdin:
        said = console.say(line)
        if said is None:
            break
        _show(said, print_card, print_note)
    return 0


def _show(said: Said, print_card: Any, print_note: Any) -> None:
    if said.card is not None:
        print_card(said.card)
    elif said.text:
        print_note(said.text, quiet=said.quiet)
    else:
        return
    print()


def _interactive(console: Console) -> int:
    from prompt_toolkit import PromptSession
    from prompt_toolkit.completion import Completer, Completion
    from prompt_toolkit.history import FileHistory

    from bot.cards.output import print_card, print_note

    class ChatCompleter(Completer):
        def get_completions(self, document: Document, complete_event: CompleteEvent) -> Iterable[Completion]:
            del complete_event
            before = document.text_before_cursor
            word = before.rpartition(" ")[2]
            for candidate in console.completions(before):
                yield Completion(candidate, start_position=-len(word))

    history = Path.home() / ".local" / "state" / "guidenest" / "chat-history"
    history.parent.mkdir(parents=True, exist_ok=True)
    # prompt_toolkit turns on the terminal's bracketed paste: a pasted log arrives as one text, newlines and all,
    # and Enter sends it as one question.
    session: PromptSession[str] = PromptSession(history=FileHistory(str(history)), completer=ChatCompleter())
    while True:
        try:
            line = session.prompt("you> ")
        except EOFError:
            return 0
        except KeyboardInterrupt:
            continue  # Ctrl-C clears the line, as in a shell
        said = console.say(line)
        if said is None:
            return 0
        _show(said, print_card, print_note)
