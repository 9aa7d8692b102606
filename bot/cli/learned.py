"""`guidenest kb learned [--guild ID] [--export]`: what moderators taught the bot, for the knowledge base's keepers.

It reads the bot's database (GUIDENEST_DATABASE_PATH) and changes nothing: a database that does not exist yet, or
whose schema predates learned phrasings, has none; one the bot could not use is refused as `guidenest run` does.
`--export` prints, for each entry file, the `asks` items to add, ready to paste; what it leaves out goes to stderr.
"""

from __future__ import annotations

import asyncio
import sys
from typing import TYPE_CHECKING, Any

import yaml

from bot.cli.common import checked_knowledge
from bot.cli.db import refusal

if TYPE_CHECKING:
    import argparse
    from pathlib import Path

    from bot.settings import Settings
    from bot.storage import LearnedPhrasing

LEARNED_SCHEMA = 3  # the migration that created the learned_phrasing table


def register(actions: Any) -> None:
    learned = actions.add_parser(
        "learned",
        help="list the questions moderators taught the bot (--export: as asks for knowledge/)",
        description=(
            "List the phrasings moderators taught the bot in their servers (/kb teach), from the database in "
            "GUIDENEST_DATABASE_PATH, the latest first. With --export, print for each entry file the `asks` items "
            "to add, ready to paste; phrasings the knowledge already has are left out."
        ),
    )
    learned.add_argument("--guild", type=int, metavar="ID", help="only this server's (its id)")
    learned.add_argument("--export", action="store_true", help="print them as asks items per entry file")
    learned.set_defaults(handler=run_learned)


def run_learned(args: argparse.Namespace, settings: Settings) -> int:
    # Only now, as `guidenest db` does: other commands need no database code (SQLAlchemy, Alembic).
    from bot.knowledge.learned import asks_additions
    from bot.storage import StorageError

    try:
        phrasings = read_learned(settings.database_target, args.guild)
    except StorageError as exc:
        print(refusal(exc, settings), file=sys.stderr)
        return 2
    if phrasings is None:
        print(f"No learned phrasings: {settings.database_path} does not exist yet.")
        return 0
    if not args.export:
        print_listing(phrasings)
        return 0
    knowledge = checked_knowledge(settings)
    if knowledge is None:
        return 1
    additions = asks_additions(knowledge, phrasings)
    for note in additions.notes:
        print(f"guidenest: left out or chosen: {note}", file=sys.stderr)
    if not additions.asks:
        print("# Nothing to add: every learned phrasing is in knowledge/ already (or there are none).")
        return 0
    for entry_id in sorted(additions.asks):
        path = knowledge.entries[entry_id].path.relative_to(settings.knowledge_dir.parent)
        print(f"# {path}: add under asks:")
        for text in additions.asks[entry_id]:
            # YAML's own quoting, indented as the entries list their asks.
            item = yaml.safe_dump([text], allow_unicode=True, width=1_000_000, default_flow_style=False)
            print(f"  {item.rstrip()}")
        print()
    return 0


def read_learned(path: Path | str, guild_id: int | None) -> list[LearnedPhrasing] | None:
    """The learned phrasings (of `guild_id`, or all); None when the database does not exist yet."""
    from bot.storage import Storage, check_database

    status = check_database(path)  # refuses a file `guidenest run` would refuse, changing nothing
    if not status.exists:
        return None
    if status.schema_version < LEARNED_SCHEMA:
        return []  # opened by a version that taught nothing; the bot migrates it at its next start

    async def read() -> list[LearnedPhrasing]:
        storage = await Storage.open(path)
        try:
            return await storage.learned_phrasings(guild_id)
        finally:
            await storage.close()

    return asyncio.run(read())


def print_listing(phrasings: list[LearnedPhrasing]) -> None:
    if not phrasings:
        print("No learned phrasings.")
        return
    for phrasing in phrasings:
        print(
            f"{phrasing.taught_at:%Y-%m-%d %H:%M} UTC  guild {phrasing.guild_id}  {phrasing.entry_id}  "
            f"by {phrasing.taught_by}: {phrasing.text}"
        )
