"""`guidenest db check | upgrade | copy`: the bot's database by hand, without starting the bot."""

from __future__ import annotations

import asyncio
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
        help="check, upgrade or copy the bot's database",
        description=(
            "Commands for the bot's database: GUIDENEST_DATABASE_URL (sqlite:///PATH or postgresql://…) when set,"
            " else the SQLite file GUIDENEST_DATABASE_PATH."
        ),
    )
    actions = db.add_subparsers(dest="db_command", metavar="ACTION")
    check = actions.add_parser(
        "check",
        help="run the start-up check of `guidenest run`; exit 2 if the bot would refuse the database",
        description=(
            "Check the database as `guidenest run` does at start. A SQLite file: readable and writable, a SQLite"
            " file, a schema this version understands, every page sound (quick_check), not locked by another"
            " program. PostgreSQL: reachable, a schema this version understands, writable by the bot's role."
            " Changes nothing. Exit 0 if the bot can use it, 2 (with the same message `guidenest run` prints) if"
            " not."
        ),
    )
    check.set_defaults(handler=run_check)
    upgrade = actions.add_parser(
        "upgrade",
        help="migrate the database to this version's schema (what `guidenest run` does at start)",
        description=(
            "Create the database's tables, or migrate them to the newest schema, keeping every row; a SQLite file"
            " of an older release is adopted at its version. Refuses what `db check` refuses (exit 2)."
        ),
    )
    upgrade.set_defaults(handler=run_upgrade)
    copy = actions.add_parser(
        "copy",
        help="copy every row of one database into a new one (e.g. SQLite into PostgreSQL), counts verified",
        description=(
            "Copy every table of --from into --to, which must be empty (it is created or migrated first), in one"
            " transaction; then count each table's rows on both sides. Exit 0 when every count matches, 1 when"
            " one does not, 2 when a database cannot be used. The source is only read."
        ),
    )
    copy.add_argument("--from", dest="source", required=True, metavar="URL", help="sqlite:///PATH or a path")
    copy.add_argument("--to", dest="destination", required=True, metavar="URL", help="postgresql://… (or sqlite:///)")
    copy.set_defaults(handler=run_copy)
    db.set_defaults(handler=prints_help(db))


def refusal(exc: StorageError, settings: Settings | None = None) -> str:
    """The line `guidenest run` and `guidenest db` print for a database they cannot use."""
    setting = "database_url" if settings is not None and settings.database_url is not None else "database_path"
    return f"guidenest: cannot use the database ({env_name(setting)}): {exc}"


def run_check(args: argparse.Namespace, settings: Settings) -> int:
    del args
    # Imported only now, as `guidenest run` does: the other commands need no database code.
    from bot.storage import StorageError, check_database

    try:
        status = check_database(settings.database_target)
    except StorageError as exc:
        print(refusal(exc, settings), file=sys.stderr)
        return 2
    print(describe(status))
    return 0


def run_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    del args
    from bot.storage import Storage, StorageError, check_database

    async def upgrade() -> int:
        storage = await Storage.open(settings.database_target)
        await storage.close()
        return storage.schema_version

    try:
        before = check_database(settings.database_target)
        after = asyncio.run(upgrade())
    except StorageError as exc:
        print(refusal(exc, settings), file=sys.stderr)
        return 2
    if before.exists and before.schema_version == after:
        print(f"OK: {before.location}: schema version {after} (current), nothing to do")
    else:
        print(f"OK: {before.location}: schema version {before.schema_version} -> {after}")
    return 0


def run_copy(args: argparse.Namespace, settings: Settings) -> int:
    del settings
    from bot.storage import StorageError, check_database
    from bot.storage.copy import copy_database

    try:
        source = check_database(args.source)
        if not source.exists:
            raise StorageError(f"{source.location} does not exist")  # noqa: TRY301 - reported as the others are
        check_database(args.destination)
        tables = asyncio.run(copy_database(args.source, args.destination))
    except StorageError as exc:
        print(f"guidenest: db copy: {exc}", file=sys.stderr)
        return 2
    for table in tables:
        mark = "ok" if table.verified else f"MISMATCH: {table.source_rows} in the source"
        print(f"{table.name}: {table.copied_rows} rows {mark}")
    if not all(table.verified for table in tables):
        print("guidenest: db copy: the row counts differ; the destination is not a faithful copy", file=sys.stderr)
        return 1
    print(f"OK: {sum(table.copied_rows for table in tables)} rows copied, every count verified")
    return 0


def describe(status: DatabaseStatus) -> str:
    if not status.exists:
        return f"OK: {status.location} does not exist yet; `guidenest run` creates it"
    version = f"schema version {status.schema_version}"
    if status.needs_migration:
        version += f" (`guidenest run` migrates it to {status.code_schema_version})"
    else:
        version += " (current)"
    size = f"{status.size_bytes / 1024:.0f} KiB"
    if status.backend != "sqlite":
        return f"OK: {status.location}: {version}, {size}, {status.journal_mode}, writable"
    return f"OK: {status.location}: {version}, {size}, journal mode {status.journal_mode}, quick_check ok, writable"
