"""The `guidenest` command line: a thin adapter over the core, one module per area.

Each area module has `register(subcommands)`, which adds its subcommands and sets `handler` on them: a function
taking the parsed arguments and the settings and returning the exit code.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import TYPE_CHECKING

from bot import __version__
from bot.cli import ask, chat, db, kb, lookup, probe, run
from bot.cli.common import prints_help
from bot.settings import Group, SettingsError, load_settings, unknown_setting_warnings

if TYPE_CHECKING:
    from collections.abc import Sequence

AREAS = (ask, chat, lookup, kb, db, probe, run)

# The settings each command reads, by group: a bad setting stops only the commands that read it (a mistyped
# probe timeout stops `probe`, not `ask`). Logging, set up for every command, is read by all. A command missing
# here reads every group.
SETTINGS_READ: dict[str | None, frozenset[Group]] = {
    None: frozenset(),  # `guidenest` alone prints its help
    "ask": frozenset({Group.KNOWLEDGE, Group.ANSWERING, Group.SCREENSHOTS}),  # screenshots for --image
    "chat": frozenset({Group.KNOWLEDGE, Group.ANSWERING}),
    "port": frozenset({Group.KNOWLEDGE}),
    "provider": frozenset({Group.KNOWLEDGE}),
    "kb": frozenset({Group.KNOWLEDGE}),
    "kb learned": frozenset({Group.KNOWLEDGE, Group.STORAGE}),  # an action listed on its own: read by it alone
    "db": frozenset({Group.STORAGE}),
    "probe": frozenset({Group.PROBE}),
    "discover": frozenset({Group.PROBE}),
    "run": frozenset(Group),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="guidenest",
        description="Answers email client setup questions: ports, security modes, errors, provider settings.",
    )
    parser.add_argument("--version", action="version", version=f"guidenest {__version__}")
    subcommands = parser.add_subparsers(dest="command", metavar="COMMAND")
    parser.set_defaults(handler=prints_help(parser))
    for area in AREAS:
        area.register(subcommands)
    return parser


def settings_key(args: argparse.Namespace) -> str | None:
    """The command's entry in SETTINGS_READ: its action's (`kb learned`) when that has one of its own."""
    action = f"{args.command} {getattr(args, f'{args.command}_command', None)}"
    return action if action in SETTINGS_READ else args.command


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    for warning in unknown_setting_warnings(os.environ):
        print(f"guidenest: warning: {warning}", file=sys.stderr)
    try:
        settings = load_settings(needed={Group.LOGGING, *SETTINGS_READ.get(settings_key(args), Group)})
    except SettingsError as exc:
        print("guidenest: fix these settings (in the environment or .env) and try again:", file=sys.stderr)
        print(str(exc), file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        code = int(args.handler(args, settings))
        sys.stdout.flush()  # a reader that left early shows here, not as a traceback at interpreter exit
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader left early (`guidenest kb export | head`): stop quietly, as other command-line tools do.
        # Pointing stdout at /dev/null keeps the interpreter's final flush from failing a second time.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return 141  # 128 + SIGPIPE, what a shell reports for a pipeline member killed by the signal
    return code
