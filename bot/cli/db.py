"""`guidenest db check`: the start-up check of `guidenest run`, by hand, without starting the bot."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from bot.cli.common import prints_help
from bot.settings import env_name

if TYPE_CHECKING:
    import argparse

    from bot.settings import Settings
    from bot.storage.check import DatabaseStatus
    from bot.storage.store import StorageError


def register(subcommands: Any) -> None:
    db = subcommands.add_parser(
        "db",
        help="check the bot's database",
        description="Commands for the bot's SQLite database (GUIDENEST_DATABASE_PATH).",
    )
    actions = db.add_subparsers(dest="db_command", metavar="ACTION")
    check = actions.add_parser(
        "check",
        help="run the start-up check of `guidenest run`; exit 2 if the bot would refuse the database",
        description=(
            "Check the database in GUIDENEST_DATABASE_PATH as `guidenest run` does at start: readable and"
            " writable, a SQLite file, a schema this version understands, every page sound (quick_check), not"
            " locked by another program. Changes nothing. Exit 0 if the bot can use it, 2 (with the same"
            " message `guidenest run` prints) if not."
        ),
    )
    check.set_defaults(handler=run_check)
    db.set_defaults(handler=prints_help(db))


def refusal(exc: StorageError) -> str:
    """The line `guidenest run` and `guidenest db check` print for a database they cannot use."""
    return f"guidenest: cannot use the database ({env_name('database_path')}): {exc}"


def run_check(args: argparse.Namespace, settings: Settings) -> int:
    del args
    # Imported only now, as `guidenest run` does: the other commands need no database code.
    from bot.storage import StorageError, check_database

    try:
        status = check_database(settings.database_path)
    except StorageError as exc:
        print(refusal(exc), file=sys.stderr)
        return 2
    print(describe(status))
    return 0


def describe(status: DatabaseStatus) -> str:
    if not status.exists:
        return f"OK: {status.path} does not exist yet; `guidenest run` creates it"
    version = f"schema version {status.schema_version}"
    if status.needs_migration:
        version += f" (`guidenest run` migrates it to {status.code_schema_version})"
    else:
        version += " (current)"
    size = f"{status.size_bytes / 1024:.0f} KiB"
    return f"OK: {status.path}: {version}, {size}, journal mode {status.journal_mode}, quick_check ok, writable"
