"""The `guidenest` command line: a thin adapter over the core, one module per area.

Each area module has `register(subcommands)`, which adds its subcommands and sets `handler` on them: a function
taking the parsed arguments and the settings and returning the exit code.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import TYPE_CHECKING

from bot import __version__
from bot.cli import ask, kb, lookup, probe, run
from bot.settings import SettingsError, load_settings

if TYPE_CHECKING:
    from collections.abc import Sequence

AREAS = (ask, lookup, kb, probe, run)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="guidenest",
        description="Answers email client setup questions: ports, security modes, errors, provider settings.",
    )
    parser.add_argument("--version", action="version", version=f"guidenest {__version__}")
    subcommands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
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
        return int(args.handler(args, settings))
    except KeyboardInterrupt:
        return 130
