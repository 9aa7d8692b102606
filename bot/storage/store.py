"""The bot's database: guild settings, posted answers, votes, misses, learned phrasings and the probe audit log.

SQLAlchemy Core on either backend: a SQLite file (aiosqlite, WAL, the default) or PostgreSQL (asyncpg), named
by a path or a URL (see engine.py). One `Storage` runs one statement at a time on one pooled connection. With
SQLite several processes may share the file: WAL lets readers run beside the single writer, and writes wait up to
`BUSY_TIMEOUT_SECONDS` for the write lock instead of failing. A write that fails for a passing reason (the
server restarted, a lock held too long) is tried again with backoff, for up to `RETRY_SECONDS`, before its caller
hears of it; a vote is acknowledged only once committed.
"""

from __future__ import annotations

import asyncio
import enum
import functools
import itertools
import json
import logging
import re
import unicodedata
import zlib
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, TypeVar

from sqlalchemy import Float, cast, delete, desc, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError

from bot.settings import Confidence
from bot.storage import schema
from bot.storage.engine import (
    BUSY_TIMEOUT_SECONDS,
    SQLITE,
    BadDatabaseURLError,
    create_engine,
    database_url,
    describe,
    sqlite_path,
    write_engine,
)
from bot.storage.migrations import (
    SCRIPTS,
    NewerSchemaError,
    adopt,
    needs_adoption,
    revisions,
    schema_version,
    upgrade_step,
)
from bot.storage.records import (
    AnswerRecord,
    EntryFeedback,
    GuildConfig,
    LearnedPhrasing,
    MissRow,
    ProbeAuditRow,
)

if TYPE_CHECKING:
    from pathlib import Path

    from sqlalchemy.engine import URL, Connection
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
    from sqlalchemy.sql import Executable

__all__ = ["BUSY_TIMEOUT_SECONDS", "Storage", "StorageError", "grouping_key"]

log = logging.getLogger(__name__)

RETRY_SECONDS = 30.0  # how long a transient failure is retried before the caller is told
PING_TIMEOUT_SECONDS = 2.0  # how long `ping` (the health check) waits for the database to answer
FIRST_RETRY_DELAY, MAX_RETRY_DELAY = 0.05, 2.0
MAX_MISS_TEXT = 1000
MISS_REASONS = frozenset({"no_match", "downvoted"})
PROBE_ACTIONS = frozenset({"probe", "discover"})
# PostgreSQL SQLSTATEs worth another try: serialization failure, deadlock, lock timeout, the server shutting
# down or starting up. Class 08 (connection exceptions) is matched by prefix.
TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "55P03", "57P01", "57P02", "57P03"})
MIGRATION_LOCK: Final = zlib.crc32(b"guidenest schema migration")  # PostgreSQL advisory lock key

Clock = Callable[[], datetime]
T = TypeVar("T")


class StorageError(Exception):
    """The database cannot be used as it is; the message names the database and what is wrong."""


class DatabaseUnavailableError(StorageError):
    """A transient failure outlasted the retries (the server stayed down, the lock stayed held)."""


class _Unset(enum.Enum):
    UNSET = enum.auto()


_UNSET: Final = _Unset.UNSET


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _to_text(moment: datetime) -> str:
    """One fixed-width UTC form, so stored timestamps sort and compare as text."""
    if moment.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _from_text(stored: str) -> datetime:
    return datetime.fromisoformat(stored)


def grouping_key(text: str) -> str:
    """The text with case, spacing, punctuation and invisible characters set aside, for counting repeats."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(char for char in text if unicodedata.category(char) != "Cf")  # zero-width and friends
    key = " ".join(re.findall(r"[^\W_]+", text.casefold()))
    return key or " ".join(text.casefold().split())  # all punctuation or emoji: keep it as it is


def _settle(committed: asyncio.Future[None], error: BaseException | None) -> None:
    if committed.done():  # its caller was cancelled and stopped waiting
        return
    if error is None:
        committed.set_result(None)
    else:
        committed.set_exception(error)


def _driver_error(exc: BaseException) -> BaseException:
    return exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc


def transient(exc: BaseException) -> bool:
    """Whether trying the same work again may succeed: a lost connection, a lock timeout, a busy server."""
    if isinstance(exc, OSError):  # connection refused or reset while the server restarts
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    original = exc.orig
    for candidate in (original, getattr(original, "__cause__", None)):
        state = getattr(candidate, "sqlstate", None)
        if isinstance(state, str) and (state in TRANSIENT_SQLSTATES or state.startswith("08")):
            return True
        if isinstance(candidate, OSError | ConnectionError):
            return True
    # SQLite: the busy timeout passed with another connection still holding the write lock.
    return "database is locked" in str(original)


def _learned(row: tuple[Any, ...]) -> LearnedPhrasing:
    phrasing_id, guild_id, entry_id, text_, taught_by, taught_at = row
    return LearnedPhrasing(
        id=int(phrasing_id),
        guild_id=int(guild_id),
        entry_id=str(entry_id),
        text=str(text_),
        taught_by=int(taught_by),
        taught_at=_from_text(taught_at),
    )


def _check_limit(limit: int) -> None:
    if limit < 1:
        raise ValueError("limit must be at least 1")


_LEARNED_COLUMNS = (
    schema.learned_phrasing.c.id,
    schema.learned_phrasing.c.guild_id,
    schema.learned_phrasing.c.entry_id,
    schema.learned_phrasing.c.text,
    schema.learned_phrasing.c.taught_by,
    schema.learned_phrasing.c.taught_at,
)


class Storage:
    schema_version: int

    def __init__(self, engine: AsyncEngine, url: URL, clock: Clock, scripts: Path = SCRIPTS) -> None:
        self.engine = engine
        self._writer = write_engine(engine)
        self.url = url
        self.backend = url.get_backend_name()
        self.path = sqlite_path(url)  # None on PostgreSQL
        self.label = describe(url)
        self._clock = clock
        self._scripts = scripts
        # One connection, many coroutines: a transaction must not take in another coroutine's statements.
        self._lock = asyncio.Lock()
        # Guild settings reads in flight: concurrent callers for one guild share one query.
        self._config_reads: dict[int, asyncio.Task[GuildConfig]] = {}
        # Answer and miss rows waiting for the next batch: (kind, statement, parameters, committed).
        self._queued: list[tuple[str, Executable, dict[str, Any], asyncio.Future[None]]] = []
        self._flush_task: asyncio.Task[None] | None = None
        self.schema_version = 0
        self.closed = False
        # No retries while opening: a database that cannot be reached at start is refused at once.
        self._retry_seconds = 0.0

    # --- lifecycle --------------------------------------------------------------------------------------

    @classmethod
    async def open(
        cls,
        target: Path | str,
        *,
        clock: Clock = _utc_now,
        version: int | None = None,
        scripts: Path = SCRIPTS,
    ) -> Storage:
        """Open the database at `target` (a SQLite path, or a sqlite:/// or postgresql:// URL), creating a SQLite
        file if needed, and bring its schema up to date.

        `version` (a schema version to stop at) and `scripts` (another migration history) are for tests that build an
        older or a broken schema; the bot always migrates to the newest revision.
        """
        try:
            url = database_url(target)
        except BadDatabaseURLError as exc:
            raise StorageError(str(exc)) from exc
        path = sqlite_path(url)
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StorageError(f"{path}: cannot create its folder: {exc.strerror or exc}") from exc
        storage = cls(create_engine(url), url, clock, scripts)
        try:
            await storage._configure()
            await storage._migrate(version)
            storage._retry_seconds = RETRY_SECONDS
        except BaseException as exc:
            await storage.engine.dispose()
            if isinstance(exc, DBAPIError | OSError):  # "file is not a database", a refused connection
                raise StorageError(f"{storage.label}: cannot use the database: {_driver_error(exc)}") from exc
            raise
        return storage

    async def _configure(self) -> None:
        if self.backend != SQLITE:
            return
        async with self.engine.connect() as connection:
            raw = await connection.get_raw_connection()
            driver = raw.driver_connection
            assert driver is not None
            mode = await self._switch_to_wal(driver)
        if mode != "wal":
            # Still correct, only slower, readers blocking the writer (e.g. on some network filesystems).
            log.warning("%s: WAL journal mode unavailable, using %s", self.label, mode)

    async def _switch_to_wal(self, driver: Any) -> str:
        """Turn on WAL (stored in the file, so usually already on), outside any transaction as SQLite requires.

        The switch needs the file to itself and SQLite reports "database is locked" at once, without waiting
        in the busy handler, while another connection is opening the same new file: retry for a while.
        """
        loop = asyncio.get_running_loop()
        give_up_at = loop.time() + BUSY_TIMEOUT_SECONDS
        while True:
            try:
                cursor = await driver.execute("PRAGMA journal_mode = WAL")
                row = await cursor.fetchone()
                return str(row[0]).lower() if row else "?"
            except Exception as exc:  # sqlite3.OperationalError, reached through the driver
                if "locked" not in str(exc) or loop.time() > give_up_at:
                    raise DBAPIError(None, None, exc) from exc
            await asyncio.sleep(0.02)

    async def _migrate(self, stop_at: int | None) -> None:
        known = len(revisions(self._scripts))
        target = known if stop_at is None else stop_at
        try:
            current = await self._retrying(lambda c: c.run_sync(schema_version, self._scripts), write=False)
        except NewerSchemaError as exc:
            raise StorageError(
                f"{self.label}: schema version {exc.found} is newer than this Guide Nest understands"
                f" ({exc.known}); upgrade Guide Nest or use another database file"
            ) from exc
        # Only a file that needs it takes the write lock: opening must not wait behind another process's writes.
        legacy = current and await self._retrying(lambda c: c.run_sync(needs_adoption), write=False)
        if legacy and await self._retrying(self._adopt, write=True):
            log.info("%s: adopted at schema version %d (from PRAGMA user_version)", self.label, current)
        for version in range(current + 1, target + 1):
            # One transaction per revision, holding the write lock (SQLite) or an advisory lock (PostgreSQL), so
            # processes starting together migrate once and a failed revision leaves the ones before it in place.
            try:
                if await self._retrying(functools.partial(self._upgrade_to, version), write=True):
                    log.info("%s: schema migrated to version %d", self.label, version)
            except (StorageError, DBAPIError) as exc:
                why = _driver_error(exc.__cause__ or exc) if isinstance(exc, StorageError) else _driver_error(exc)
                message = f"{self.label}: migration to schema version {version} failed: {why}"
                raise StorageError(message) from exc
        self.schema_version = await self._retrying(
            lambda c: c.run_sync(schema_version, self._scripts), write=False
        )

    async def _upgrade_to(self, version: int, connection: AsyncConnection) -> bool:
        if self.backend != SQLITE:
            await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        return await connection.run_sync(self._upgrade_step, version)

    async def _adopt(self, connection: AsyncConnection) -> bool:
        return await connection.run_sync(adopt, self._scripts)

    def _upgrade_step(self, connection: Connection, version: int) -> bool:
        return upgrade_step(connection, version, self._scripts)

    async def close(self) -> None:
        """Close the connection (twice is harmless); with SQLite the last one to close folds the WAL into the file."""
        async with self._lock:
            if self.closed:
                return
            await self._write_queued()  # answers and misses already promised to their callers
            self.closed = True
            if self.backend == SQLITE:
                try:
                    async with self.engine.connect() as connection:
                        await connection.exec_driver_sql("PRAGMA optimize")
                except DBAPIError as exc:  # only a planner hint; closing matters more
                    log.debug("PRAGMA optimize failed: %s", exc)
            await self.engine.dispose()

    async def ping(self, within_seconds: float = PING_TIMEOUT_SECONDS) -> None:
        """Return if the database answers `SELECT 1` within `within_seconds`; else raise StorageError saying why.

        For the health endpoint, so tried once: it asks how the database is now, not whether it comes back within
        RETRY_SECONDS. It takes the pool's one connection like any statement, which keeps it out of another
        transaction, but not the store's turn: a burst of batched writes holds that for as long as rows keep
        coming, and a busy database is not a dead one.
        """
        self._check_open()  # a closed store's engine would open a new pool
        try:
            async with asyncio.timeout(within_seconds), self.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except TimeoutError as exc:
            raise StorageError(f"{self.label}: no answer within {within_seconds:g} s") from exc
        except (DBAPIError, OSError) as exc:
            raise StorageError(f"{self.label}: {_driver_error(exc)}") from exc

    # --- helpers ----------------------------------------------------------------------------------------

    async def _retrying(self, work: Callable[[AsyncConnection], Awaitable[T]], *, write: bool) -> T:
        """`work` in one transaction, tried again with backoff while it fails for a transient reason."""
        engine = self._writer if write else self.engine
        loop = asyncio.get_running_loop()
        give_up_at = loop.time() + self._retry_seconds
        delay = FIRST_RETRY_DELAY
        while True:
            try:
                async with engine.begin() as connection:
                    return await work(connection)
            except (DBAPIError, OSError) as exc:
                if not transient(exc) or not self._retry_seconds:
                    raise
                if loop.time() + delay > give_up_at:
                    raise DatabaseUnavailableError(
                        f"{self.label}: still failing after {self._retry_seconds:g} s of retries: {_driver_error(exc)}"
                    ) from exc
                log.warning("%s: %s; trying again in %.2f s", self.label, _driver_error(exc), delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_RETRY_DELAY)

    async def _do(self, work: Callable[[AsyncConnection], Awaitable[T]], *, write: bool) -> T:
        """Run `work` in its turn, after the queued rows, with database errors told as StorageError."""
        async with self._lock:
            self._check_open()
            await self._write_queued()  # queued rows first, so every read sees them
            try:
                return await self._retrying(work, write=write)
            except DBAPIError as exc:
                raise StorageError(f"{self.label}: {_driver_error(exc)}") from exc

    async def _rows(self, statement: Executable, *, write: bool = False) -> list[tuple[Any, ...]]:
        async def rows(connection: AsyncConnection) -> list[tuple[Any, ...]]:
            return [tuple(row) for row in await connection.execute(statement)]

        return await self._do(rows, write=write)

    async def _run(self, statement: Executable) -> int:
        """One write statement in its own transaction; the number of rows it changed."""

        async def run(connection: AsyncConnection) -> int:
            result: Any = await connection.execute(statement)
            return int(result.rowcount)

        return await self._do(run, write=True)

    def _insert(self, table: Any) -> Any:
        """INSERT with the backend's ON CONFLICT clause (both dialects spell it alike)."""
        return (sqlite.insert if self.backend == SQLITE else postgresql.insert)(table)

    async def _queue_write(self, kind: str, statement: Executable, parameters: dict[str, Any]) -> None:
        """Write one row in the next batch and wait until it is committed.

        Answers and misses come in bursts (a busy channel); one transaction for every row queued by the time
        the lock is free costs one commit and one lock turn instead of one each.
        """
        self._check_open()
        committed = asyncio.get_running_loop().create_future()
        self._queued.append((kind, statement, parameters, committed))
        self._schedule_flush()
        # A caller cancelled here only stops waiting: its row stays queued and is written.
        await committed

    def _schedule_flush(self) -> None:
        if self._queued and (self._flush_task is None or self._flush_task.done()):
            self._flush_task = asyncio.create_task(self._flush_queued(), name="guidenest: storage batch")

    async def _flush_queued(self) -> None:
        async with self._lock:
            # Rows queued while a batch is written go in the next one, in this same task.
            while self._queued and not self.closed:
                await self._write_queued()

    async def _write_queued(self) -> None:
        """Write the queued rows in one transaction, in the order they came; the lock must be held."""
        queued, self._queued = self._queued, []
        if not queued:
            return

        async def batch(connection: AsyncConnection) -> None:
            # Runs of the same statement (misses, say) go to the driver in one executemany.
            for _, run in itertools.groupby(queued, key=lambda row: row[0]):
                rows = list(run)
                await connection.execute(rows[0][1], [parameters for _, _, parameters, _ in rows])

        try:
            await self._retrying(batch, write=True)
        except DBAPIError:
            # One bad row must not sink the others: write each on its own, each caller told its own outcome.
            for _, statement, parameters, committed in queued:
                try:
                    await self._retrying(functools.partial(_execute, statement, parameters), write=True)
                except DBAPIError as exc:
                    _settle(committed, StorageError(f"{self.label}: {_driver_error(exc)}"))
                except Exception as exc:  # noqa: BLE001 - the database went away meanwhile: that caller hears of it
                    _settle(committed, exc)
                else:
                    _settle(committed, None)
            return
        except Exception as exc:  # noqa: BLE001 - the database stayed unreachable: every caller hears of it
            for _, _, _, committed in queued:
                _settle(committed, exc)
            return
        except BaseException:
            # Cancelled (the caller that was flushing gave up): rolled back, so write them in the next batch.
            self._queued[:0] = queued
            asyncio.get_running_loop().call_soon(self._schedule_flush)
            raise
        for _, _, _, committed in queued:
            _settle(committed, None)

    def _check_open(self) -> None:
        if self.closed:
            raise StorageError(f"{self.label}: the database is closed")

    def _now(self) -> str:
        return _to_text(self._clock())

    # --- per-guild settings -----------------------------------------------------------------------------

    async def guild_config(self, guild_id: int) -> GuildConfig:
        """The guild's settings; callers asking for the same guild at the same time share one query.

        Right after a settings change every message of a busy channel asks at once (the answering cog's
        cache was emptied); without sharing, each waits for the lock behind all the others.
        """
        reading = self._config_reads.get(guild_id)
        if reading is None:
            reading = asyncio.create_task(self._read_guild_config(guild_id), name="guidenest: guild settings")
            self._config_reads[guild_id] = reading
            reading.add_done_callback(functools.partial(self._forget_config_read, guild_id))
        # Shielded: one caller giving up must not cancel the query the others wait for.
        return await asyncio.shield(reading)

    def _forget_config_read(self, guild_id: int, reading: asyncio.Task[GuildConfig]) -> None:
        if self._config_reads.get(guild_id) is reading:
            del self._config_reads[guild_id]
        if not reading.cancelled():
            reading.exception()  # its callers got it; do not let asyncio log it as never retrieved

    async def _read_guild_config(self, guild_id: int) -> GuildConfig:
        table, channels_table = schema.guild_config, schema.enabled_channel

        async def read(connection: AsyncConnection) -> tuple[tuple[Any, ...] | None, frozenset[int]]:
            found = (
                await connection.execute(
                    select(
                        table.c.confidence,
                        table.c.answer_cooldown_seconds,
                        table.c.user_rate_limit,
                        table.c.moderator_role_id,
                        table.c.mailsettings_public,
                        table.c.solved_tag,
                    ).where(table.c.guild_id == guild_id)
                )
            ).first()
            row = None if found is None else tuple(found)
            channels = await connection.execute(
                select(channels_table.c.channel_id).where(channels_table.c.guild_id == guild_id)
            )
            return row, frozenset(int(channel_id) for (channel_id,) in channels)

        row, channels = await self._do(read, write=False)
        if row is None:
            return GuildConfig(guild_id=guild_id, enabled_channels=channels)
        confidence, cooldown, rate_limit, role_id, mailsettings_public, solved_tag = row
        return GuildConfig(
            guild_id=guild_id,
            enabled_channels=channels,
            confidence=Confidence(confidence) if confidence is not None else None,
            answer_cooldown_seconds=float(cooldown) if cooldown is not None else None,
            user_rate_limit=int(rate_limit) if rate_limit is not None else None,
            moderator_role_id=int(role_id) if role_id is not None else None,
            mailsettings_public=bool(mailsettings_public),
            solved_tag=solved_tag,
        )

    async def set_channel_enabled(self, guild_id: int, channel_id: int, enabled: bool) -> None:
        table = schema.enabled_channel
        if enabled:
            await self._run(
                self._insert(table)
                .values(guild_id=guild_id, channel_id=channel_id, enabled_at=self._now())
                .on_conflict_do_nothing(index_elements=["guild_id", "channel_id"])
            )
        else:
            await self._run(delete(table).where(table.c.guild_id == guild_id, table.c.channel_id == channel_id))
        self._config_reads.pop(guild_id, None)  # a read started before this write must not be shared after it

    async def update_guild_config(
        self,
        guild_id: int,
        *,
        confidence: str | _Unset | None = _UNSET,
        answer_cooldown_seconds: float | _Unset | None = _UNSET,
        user_rate_limit: int | _Unset | None = _UNSET,
        moderator_role_id: int | _Unset | None = _UNSET,
        mailsettings_public: bool | _Unset = _UNSET,
        solved_tag: str | _Unset | None = _UNSET,
    ) -> GuildConfig:
        """Change only the keywords given; `None` puts a setting back to the bot-wide default."""
        changes: dict[str, Any] = {}
        if not isinstance(confidence, _Unset):
            if confidence is not None and confidence not in {level.value for level in Confidence}:
                raise ValueError(f"confidence must be one of {', '.join(Confidence)}")
            changes["confidence"] = None if confidence is None else Confidence(confidence).value
        if not isinstance(answer_cooldown_seconds, _Unset):
            if answer_cooldown_seconds is not None and not answer_cooldown_seconds >= 0:  # also refuses NaN
                raise ValueError("answer_cooldown_seconds must be zero or more")
            changes["answer_cooldown_seconds"] = answer_cooldown_seconds
        if not isinstance(user_rate_limit, _Unset):
            if user_rate_limit is not None and user_rate_limit < 1:
                raise ValueError("user_rate_limit must be at least 1")
            changes["user_rate_limit"] = user_rate_limit
        if not isinstance(moderator_role_id, _Unset):
            changes["moderator_role_id"] = moderator_role_id
        if not isinstance(mailsettings_public, _Unset):
            changes["mailsettings_public"] = int(bool(mailsettings_public))
        if not isinstance(solved_tag, _Unset):
            changes["solved_tag"] = solved_tag
        if changes:
            changes["updated_at"] = self._now()
            statement = self._insert(schema.guild_config).values(guild_id=guild_id, **changes)
            await self._run(
                statement.on_conflict_do_update(
                    index_elements=["guild_id"], set_={name: statement.excluded[name] for name in changes}
                )
            )
            self._config_reads.pop(guild_id, None)  # as in set_channel_enabled
        return await self.guild_config(guild_id)

    # --- answers and votes ------------------------------------------------------------------------------

    async def record_answer(
        self,
        *,
        message_id: int,
        guild_id: int | None,
        channel_id: int,
        entry_id: str,
        query: str,
        suggestions: Sequence[str],
    ) -> None:
        """Remember an answer; recording the same message again (the answer switched in place) replaces it."""
        statement = self._insert(schema.answer)
        statement = statement.on_conflict_do_update(
            index_elements=["message_id"],
            set_={name: statement.excluded[name] for name in ("entry_id", "query", "suggestions")},
        )
        await self._queue_write(
            "answer",
            statement,
            {
                "message_id": message_id,
                "guild_id": guild_id,
                "channel_id": channel_id,
                "entry_id": entry_id,
                "query": query,
                "suggestions": json.dumps(list(suggestions)),
                "created_at": self._now(),
            },
        )

    async def answer(self, message_id: int) -> AnswerRecord | None:
        table = schema.answer
        rows = await self._rows(
            select(
                table.c.guild_id,
                table.c.channel_id,
                table.c.entry_id,
                table.c.query,
                table.c.suggestions,
                table.c.created_at,
            ).where(table.c.message_id == message_id)
        )
        if not rows:
            return None
        guild_id, channel_id, entry_id, query, suggestions, created_at = rows[0]
        return AnswerRecord(
            message_id=message_id,
            guild_id=guild_id,
            channel_id=channel_id,
            entry_id=entry_id,
            query=query,
            suggestions=tuple(str(item) for item in json.loads(suggestions)),
            created_at=_from_text(created_at),
        )

    async def record_vote(
        self, *, message_id: int, user_id: int, entry_id: str, helpful: bool, guild_id: int | None
    ) -> None:
        """One vote per user per answer message: voting again replaces the earlier vote.

        Returns once the vote is committed (after retries through a restart of the server, if need be), so a
        confirmation shown to the member after it is never for a vote that was lost.
        """
        statement = self._insert(schema.vote).values(
            message_id=message_id,
            user_id=user_id,
            guild_id=guild_id,
            entry_id=entry_id,
            helpful=int(helpful),
            voted_at=self._now(),
        )
        await self._run(
            statement.on_conflict_do_update(
                index_elements=["message_id", "user_id"],
                set_={name: statement.excluded[name] for name in ("entry_id", "helpful", "voted_at")},
            )
        )

    async def worst_entries(self, guild_id: int | None, limit: int = 5) -> list[EntryFeedback]:
        """Entries with at least one 👎, most 👎 relative to 👍 first; `guild_id=None` counts every guild.

        The share of 👎 is smoothed ((👎+1)/(votes+2)) so one early 👎 does not outrank a long record of them.
        """
        _check_limit(limit)
        table = schema.vote
        up = func.sum(table.c.helpful)
        down = func.sum(1 - table.c.helpful)
        query = select(table.c.entry_id, up, down).group_by(table.c.entry_id).having(down > 0)
        if guild_id is not None:
            query = query.where(table.c.guild_id == guild_id)
        query = query.order_by(
            desc(cast(down + 1, Float) / cast(up + down + 2, Float)), desc(down), table.c.entry_id
        ).limit(limit)
        return [
            EntryFeedback(entry_id=entry, helpful=int(helpful), not_helpful=int(not_helpful))
            for entry, helpful, not_helpful in await self._rows(query)
        ]

    # --- misses -----------------------------------------------------------------------------------------

    async def record_miss(
        self,
        *,
        guild_id: int | None,
        channel_id: int | None,
        text: str,
        reason: str,
        entry_id: str | None,
        score: float | None,
    ) -> None:
        """A question the bot could not answer well: `reason` is "no_match" or "downvoted"."""
        if reason not in MISS_REASONS:
            raise ValueError(f"reason must be one of {', '.join(sorted(MISS_REASONS))}")
        text = text[:MAX_MISS_TEXT]
        await self._queue_write(
            "miss",
            schema.miss.insert(),
            {
                "at": self._now(),
                "guild_id": guild_id,
                "channel_id": channel_id,
                "text": text,
                "grouping_key": grouping_key(text),
                "reason": reason,
                "entry_id": entry_id,
                "score": score,
            },
        )

    async def top_misses(self, guild_id: int | None, limit: int = 10) -> list[MissRow]:
        """The most repeated misses, repeats counted across case/spacing/punctuation; `None` = every guild."""
        _check_limit(limit)
        table = schema.miss
        repeats = func.count().label("repeats")
        latest = func.max(table.c.id).label("latest")
        groups = select(table.c.grouping_key, repeats, latest).group_by(table.c.grouping_key)
        if guild_id is not None:
            groups = groups.where(table.c.guild_id == guild_id)
        top = groups.order_by(desc(repeats), desc(latest)).limit(limit).subquery()
        # Each group's text, reason, entry and score come from its latest miss.
        query = (
            select(
                table.c.text, table.c.at, table.c.reason, table.c.entry_id, table.c.score, top.c.repeats, top.c.latest
            )
            .join_from(top, table, table.c.id == top.c.latest)
            .order_by(desc(top.c.repeats), desc(top.c.latest))
        )
        return [
            MissRow(
                text=text_,
                count=int(count),
                last_seen=_from_text(at),
                reason=reason,
                entry_id=entry_id,
                score=score,
                latest_id=int(latest_id),
            )
            for text_, at, reason, entry_id, score, count, latest_id in await self._rows(query)
        ]

    async def missed_question(self, guild_id: int, miss_id: int) -> str | None:
        """The text of miss `miss_id` if it was recorded in `guild_id` and is still kept, else None."""
        table = schema.miss
        rows = await self._rows(select(table.c.text).where(table.c.id == miss_id, table.c.guild_id == guild_id))
        return str(rows[0][0]) if rows else None

    # --- learned phrasings ------------------------------------------------------------------------------

    async def learn_phrasing(self, guild_id: int, entry_id: str, text: str, taught_by: int) -> LearnedPhrasing:
        """Teach `text` as a way to ask for `entry_id` in `guild_id`; the same text taught again (whatever its case
        and spacing) moves to the new entry, with its new teacher and time."""
        key = grouping_key(text)
        if not key.strip() or not entry_id:
            raise ValueError("a learned phrasing needs text and an entry")
        taught_at = self._now()
        statement = self._insert(schema.learned_phrasing).values(
            guild_id=guild_id, entry_id=entry_id, text=text, grouping_key=key, taught_by=taught_by, taught_at=taught_at
        )
        statement = statement.on_conflict_do_update(
            index_elements=["guild_id", "grouping_key"],
            set_={name: statement.excluded[name] for name in ("entry_id", "text", "taught_by", "taught_at")},
        ).returning(schema.learned_phrasing.c.id)
        rows = await self._rows(statement, write=True)
        return LearnedPhrasing(
            id=int(rows[0][0]),
            guild_id=guild_id,
            entry_id=entry_id,
            text=text,
            taught_by=taught_by,
            taught_at=_from_text(taught_at),
        )

    async def learned_phrasings(self, guild_id: int | None) -> list[LearnedPhrasing]:
        """A guild's learned phrasings (`None`: every guild's), the latest taught first."""
        table = schema.learned_phrasing
        query = select(*_LEARNED_COLUMNS).order_by(desc(table.c.taught_at), desc(table.c.id))
        if guild_id is not None:
            query = query.where(table.c.guild_id == guild_id)
        return [_learned(row) for row in await self._rows(query)]

    async def forget_phrasing(self, guild_id: int, phrasing_id: int) -> LearnedPhrasing | None:
        """Remove a learned phrasing of `guild_id`; what was removed, or None if it has no such phrasing."""
        table = schema.learned_phrasing
        rows = await self._rows(
            delete(table).where(table.c.id == phrasing_id, table.c.guild_id == guild_id).returning(*_LEARNED_COLUMNS),
            write=True,
        )
        return _learned(rows[0]) if rows else None

    async def taught_guilds(self) -> set[int]:
        """The guilds that have at least one learned phrasing."""
        rows = await self._rows(select(schema.learned_phrasing.c.guild_id).distinct())
        return {int(row[0]) for row in rows}

    async def purge_expired(self, retention_days: int, now: datetime | None = None) -> int:
        """Delete misses older than `retention_days`, and forget the questions behind older answers.

        Members' words are kept only as long as the retention period says; an old answer keeps its entry and
        suggestions, so its buttons still work. Returns the number of misses deleted.
        """
        if retention_days < 0:
            raise ValueError("retention_days must be zero or more")
        cutoff = _to_text((now or self._clock()) - timedelta(days=retention_days))
        answers, misses = schema.answer, schema.miss
        await self._run(
            update(answers).where(answers.c.created_at < cutoff, answers.c.query != "").values(query="")
        )
        return await self._run(delete(misses).where(misses.c.at < cutoff))

    # --- probe audit log --------------------------------------------------------------------------------

    async def record_probe(
        self,
        *,
        user_id: int | None,
        guild_id: int | None,
        action: str,
        target: str,
        address: str | None,
        outcome: str,
        duration_ms: int,
    ) -> None:
        if action not in PROBE_ACTIONS:
            raise ValueError(f"action must be one of {', '.join(sorted(PROBE_ACTIONS))}")
        await self._run(
            schema.probe_audit.insert().values(
                at=self._now(),
                user_id=user_id,
                guild_id=guild_id,
                action=action,
                target=target,
                address=address,
                outcome=outcome,
                duration_ms=max(0, int(duration_ms)),
            )
        )

    async def probe_history(self, guild_id: int | None, limit: int = 10) -> list[ProbeAuditRow]:
        """The latest probes first; `guild_id=None` lists every guild and direct messages."""
        _check_limit(limit)
        table = schema.probe_audit
        query = select(
            table.c.at,
            table.c.user_id,
            table.c.guild_id,
            table.c.action,
            table.c.target,
            table.c.address,
            table.c.outcome,
            table.c.duration_ms,
        )
        if guild_id is not None:
            query = query.where(table.c.guild_id == guild_id)
        query = query.order_by(desc(table.c.at), desc(table.c.id)).limit(limit)
        return [
            ProbeAuditRow(
                at=_from_text(at),
                user_id=user_id,
                guild_id=row_guild_id,
                action=action,
                target=target,
                address=address,
                outcome=outcome,
                duration_ms=int(duration_ms),
            )
            for at, user_id, row_guild_id, action, target, address, outcome, duration_ms in await self._rows(query)
        ]


async def _execute(statement: Executable, parameters: dict[str, Any], connection: AsyncConnection) -> None:
    await connection.execute(statement, parameters)
