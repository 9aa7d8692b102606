"""`guidenest db copy`: every row of one database into another, empty one (SQLite into PostgreSQL, typically).

The destination is migrated to the newest schema first and filled in one transaction, so a failed copy leaves it
empty; the source is only read. Afterwards each table's rows are counted on both sides.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import func, select, text

from bot.storage import schema
from bot.storage.engine import SQLITE, create_engine, database_url, describe
from bot.storage.migrations import SCHEMA_VERSION, NewerSchemaError, schema_version
from bot.storage.store import Storage, StorageError

if TYPE_CHECKING:
    from pathlib import Path

    from sqlalchemy.ext.asyncio import AsyncConnection

BATCH_ROWS = 1000


@dataclass(frozen=True)
class CopiedTable:
    name: str
    source_rows: int
    copied_rows: int

    @property
    def verified(self) -> bool:
        return self.source_rows == self.copied_rows


async def _counts(connection: AsyncConnection) -> dict[str, int]:
    return {
        table.name: int((await connection.execute(select(func.count()).select_from(table))).scalar_one())
        for table in schema.TABLES
    }


async def copy_database(source: Path | str, destination: Path | str) -> list[CopiedTable]:
    """Copy every row; raises StorageError (source not current, destination not empty, a failed write)."""
    source_url, destination_url = database_url(source), database_url(destination)
    if source_url == destination_url:
        raise StorageError("the source and the destination are the same database")
    reader = create_engine(source_url)
    try:
        async with reader.connect() as source_connection:
            try:
                version = await source_connection.run_sync(schema_version)
            except NewerSchemaError as exc:
                why = f"{describe(source_url)} has a newer schema ({exc.found}) than this Guide Nest"
                raise StorageError(why) from exc
            if version != SCHEMA_VERSION:
                raise StorageError(
                    f"{describe(source_url)} has schema version {version}, not {SCHEMA_VERSION}; run"
                    " `guidenest db upgrade` on it first (with GUIDENEST_DATABASE_URL pointing at it)"
                )
            # Creates or migrates the destination's tables; then it is written on a connection of our own.
            await (await Storage.open(destination)).close()
            writer = create_engine(destination_url)
            try:
                async with writer.begin() as destination_connection:
                    found = {name: rows for name, rows in (await _counts(destination_connection)).items() if rows}
                    if found:
                        listed = ", ".join(f"{name} ({rows})" for name, rows in found.items())
                        where = describe(destination_url)
                        raise StorageError(f"{where} is not empty: {listed}; copy into a new database")
                    for table in schema.TABLES:
                        rows = await source_connection.stream(select(table).order_by(*table.primary_key.columns))
                        async for batch in rows.mappings().partitions(BATCH_ROWS):
                            await destination_connection.execute(table.insert(), [dict(row) for row in batch])
                    if writer.dialect.name != SQLITE:
                        # Rows came with their ids; the next id handed out must follow the largest copied.
                        for table in (schema.miss, schema.probe_audit, schema.learned_phrasing):
                            await destination_connection.execute(
                                text(
                                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'),"  # noqa: S608
                                    f" COALESCE(MAX(id), 0) + 1, false) FROM {table.name}"
                                )
                            )
                async with writer.connect() as check:
                    copied = await _counts(check)
            finally:
                await writer.dispose()
            expected = await _counts(source_connection)
    finally:
        await reader.dispose()
    return [CopiedTable(name, expected[name], copied[name]) for name in expected]
