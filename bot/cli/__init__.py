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
from bot.cli import ask, db, kb, lookup, probe, run
from bot.cli.common import prints_help
from bot.settings import SettingsError, load_settings

if TYPE_CHECKING:
    from collections.abc import Sequence

AREAS = (ask, lookup, kb, db, probe, run)


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


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"guidenest: configuration error:\n{exc}", file=sys.stderr)
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
