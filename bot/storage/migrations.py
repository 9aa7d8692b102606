"""The schema's history: Alembic revisions in `alembic/versions/`, driven from code (there is no env.py).

Schema version N is the N-th revision. Revisions 0001-0003 reproduce the three migrations of the SQLite-only
releases, which counted versions in `PRAGMA user_version`: such a file is adopted by stamping the revision of
its version, then upgraded as usual. SQLite files keep `user_version` equal to the schema version, so an older
release refuses a file that a newer one has migrated past it, as it always did.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

if TYPE_CHECKING:
    from collections.abc import Iterable

    from sqlalchemy.engine import Connection

SCRIPTS: Path = Path(__file__).with_name("alembic")


class NewerSchemaError(Exception):
    """The database was migrated by a newer Guide Nest: `found` is its version, `known` the newest we know."""

    def __init__(self, found: int | str, known: int) -> None:
        super().__init__(found, known)
        self.found = found
        self.known = known


@functools.cache
def _directory(scripts: Path) -> ScriptDirectory:
    return ScriptDirectory(str(scripts))


@functools.cache
def revisions(scripts: Path = SCRIPTS) -> tuple[str, ...]:
    """Every revision, oldest first (the history is a single line)."""
    newest_first = [script.revision for script in _directory(scripts).walk_revisions("base", "heads")]
    return tuple(reversed(newest_first))


SCHEMA_VERSION: int = len(revisions())


def _context(connection: Connection, **opts: Any) -> MigrationContext:
    return MigrationContext.configure(connection=connection, opts=opts)


def _legacy_version(connection: Connection) -> int:
    if connection.dialect.name != "sqlite":
        return 0
    return int(connection.exec_driver_sql("PRAGMA user_version").scalar_one())


def schema_version(connection: Connection, scripts: Path = SCRIPTS) -> int:
    """The database's schema version (0: empty); raises NewerSchemaError for a revision this code lacks."""
    known = revisions(scripts)
    current = _context(connection).get_current_revision()
    legacy = _legacy_version(connection)
    if current is None:
        version = legacy  # a file of the SQLite-only releases, or a new one (0)
    elif current in known:
        version = known.index(current) + 1
    else:
        raise NewerSchemaError(current, len(known))
    if max(version, legacy) > len(known):
        raise NewerSchemaError(max(version, legacy), len(known))
    return version


def upgrade_step(connection: Connection, version: int, scripts: Path = SCRIPTS) -> bool:
    """Take the database to schema `version` if it is at `version - 1`; inside the caller's transaction.

    False when another process got there first (it held the write lock while we waited for it).
    """
    known = revisions(scripts)
    current = schema_version(connection, scripts)
    if current >= version:
        return False
    adopt(connection, scripts)
    directory = _directory(scripts)
    target = known[version - 1]
    context = _context(connection, fn=lambda rev, _: directory._upgrade_revs(target, rev))
    with Operations.context(context):
        context.run_migrations()
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql(f"PRAGMA user_version = {int(version)}")
    return True


def needs_adoption(connection: Connection) -> bool:
    """A file of the SQLite-only releases: a user_version but no Alembic revision yet."""
    return _legacy_version(connection) > 0 and _context(connection).get_current_revision() is None


def adopt(connection: Connection, scripts: Path = SCRIPTS) -> bool:
    """Stamp a file of the SQLite-only releases with the revision of its `user_version`; inside the caller's
    transaction. False when there is nothing to adopt (a new file, or one that already has a revision)."""
    context = _context(connection)
    version = schema_version(connection, scripts)
    if version == 0 or context.get_current_revision() is not None:
        return False
    context.stamp(_directory(scripts), revisions(scripts)[version - 1])
    return True


def table_names(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


def pending(current: int, scripts: Path = SCRIPTS) -> Iterable[int]:
    return range(current + 1, len(revisions(scripts)) + 1)
