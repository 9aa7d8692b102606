"""The bot's SQLite database: guild settings, posted answers, votes, misses, learned phrasings and the probe audit log.

One `Storage` owns one aiosqlite connection (one worker thread). Several processes or connections may share
the file: WAL mode lets readers run beside the single writer, and writes wait up to `BUSY_TIMEOUT_SECONDS` for
the write lock instead of failing.
"""

from __future__ import annotations

import asyncio
import enum
import functools
import itertools
import json
import logging
import re
import sqlite3
import unicodedata
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import aiosqlite

from bot.settings import Confidence
from bot.storage.migrations import MIGRATIONS, statements
from bot.storage.records import (
    AnswerRecord,
    EntryFeedback,
    GuildConfig,
    LearnedPhrasing,
    MissRow,
    ProbeAuditRow,
)

log = logging.getLogger(__name__)

BUSY_TIMEOUT_SECONDS = 10.0
MAX_MISS_TEXT = 1000
MISS_REASONS = frozenset({"no_match", "downvoted"})
PROBE_ACTIONS = frozenset({"probe", "discover"})

Clock = Callable[[], datetime]


class StorageError(Exception):
    """The database cannot be used as it is; the message names the file and what is wrong."""


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


def _learned(row: sqlite3.Row) -> LearnedPhrasing:
    phrasing_id, guild_id, entry_id, text, taught_by, taught_at = row
    return LearnedPhrasing(
        id=int(phrasing_id),
        guild_id=int(guild_id),
        entry_id=str(entry_id),
        text=str(text),
        taught_by=int(taught_by),
        taught_at=_from_text(taught_at),
    )


def _check_limit(limit: int) -> None:
    if limit < 1:
        raise ValueError("limit must be at least 1")


class Storage:
    schema_version: int

    def __init__(self, connection: aiosqlite.Connection, path: Path, clock: Clock) -> None:
        self._db = connection
        self.path = path
        self._clock = clock
        # One connection, many coroutines: a transaction must not take in another coroutine's statements.
        self._lock = asyncio.Lock()
        # Guild settings reads in flight: concurrent callers for one guild share one query.
        self._config_reads: dict[int, asyncio.Task[GuildConfig]] = {}
        # Answer and miss rows waiting for the next batch: (statement, parameters, committed).
        self._queued: list[tuple[str, tuple[Any, ...], asyncio.Future[None]]] = []
        self._flush_task: asyncio.Task[None] | None = None
        self.schema_version = 0
        self.closed = False

    # --- lifecycle --------------------------------------------------------------------------------------

    @classmethod
    async def open(
        cls, path: Path, *, clock: Clock = _utc_now, migrations: Sequence[str] = MIGRATIONS
    ) -> Storage:
        """Open (creating if needed) the database at `path` and bring its schema up to date.

        `migrations` is for tests that build an older schema; the bot always uses the full list.
        """
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"{path}: cannot create its folder: {exc.strerror or exc}") from exc
        try:
            # isolation_level=None: we issue BEGIN/COMMIT ourselves rather than relying on the sqlite3 module.
            connection = await aiosqlite.connect(path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
        except sqlite3.Error as exc:
            raise StorageError(f"{path}: cannot open the database: {exc}") from exc
        storage = cls(connection, path, clock)
        try:
            await storage._configure()
            await storage._migrate(migrations)
        except BaseException as exc:
            await connection.close()
            if isinstance(exc, sqlite3.Error):  # e.g. "file is not a database", "database is locked"
                raise StorageError(f"{path}: cannot use the database: {exc}") from exc
            raise
        return storage

    async def _configure(self) -> None:
        row = await self._switch_to_wal()
        if row is None or str(row[0]).lower() != "wal":
            # Still correct, only slower, readers blocking the writer (e.g. on some network filesystems).
            log.warning("%s: WAL journal mode unavailable, using %s", self.path, row[0] if row else "?")
        await self._db.execute("PRAGMA synchronous = NORMAL")  # safe with WAL; fsync at checkpoints
        await self._db.execute("PRAGMA foreign_keys = ON")

    async def _switch_to_wal(self) -> sqlite3.Row | None:
        """Turn on WAL (stored in the file, so usually already on).

        The switch needs the file to itself and SQLite reports "database is locked" at once, without waiting
        in the busy handler, while another connection is opening the same new file: retry for a while.
        """
        loop = asyncio.get_running_loop()
        give_up_at = loop.time() + BUSY_TIMEOUT_SECONDS
        while True:
            try:
                cursor = await self._db.execute("PRAGMA journal_mode = WAL")
                return await cursor.fetchone()
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY or loop.time() > give_up_at:
                    raise
            await asyncio.sleep(0.02)

    async def _user_version(self) -> int:
        cursor = await self._db.execute("PRAGMA user_version")
        row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def _migrate(self, migrations: Sequence[str]) -> None:
        target = len(migrations)
        current = await self._user_version()
        if current > target:
            raise StorageError(
                f"{self.path}: schema version {current} is newer than this Guide Nest understands"
                f" ({target}); upgrade Guide Nest or use another database file"
            )
        for version in range(current + 1, target + 1):
            await self._db.execute("BEGIN IMMEDIATE")
            try:
                # Another process may have migrated while we waited for the write lock.
                if await self._user_version() < version:
                    for statement in statements(migrations[version - 1]):
                        await self._db.execute(statement)
                    await self._db.execute(f"PRAGMA user_version = {int(version)}")
                    log.info("%s: schema migrated to version %d", self.path, version)
                await self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                await self._db.execute("ROLLBACK")
                message = f"{self.path}: migration to schema version {version} failed: {exc}"
                raise StorageError(message) from exc
            except BaseException:
                await self._db.execute("ROLLBACK")
                raise
        self.schema_version = await self._user_version()

    async def close(self) -> None:
        """Close the connection (twice is harmless); the last one to close folds the WAL into the file."""
        async with self._lock:
            if self.closed:
                return
            await self._write_queued()  # answers and misses already promised to their callers
            self.closed = True
            try:
                await self._db.execute("PRAGMA optimize")
            except sqlite3.Error as exc:  # only a planner hint; closing matters more
                log.debug("PRAGMA optimize failed: %s", exc)
            await self._db.close()

    # --- helpers ----------------------------------------------------------------------------------------

    @asynccontextmanager
    async def _transaction(self, *, write: bool) -> AsyncIterator[aiosqlite.Connection]:
        """Several statements as one; a write takes the write lock up front so no other writer cuts in."""
        async with self._lock:
            self._check_open()
            await self._write_queued()  # queued rows first, so every read sees them
            await self._db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield self._db
            except BaseException:
                await self._db.execute("ROLLBACK")
                raise
            await self._db.execute("COMMIT")

    async def _run(self, sql: str, parameters: Iterable[Any] = ()) -> int:
        """One statement on its own (autocommit); the number of rows it changed."""
        async with self._lock:
            self._check_open()
            await self._write_queued()
            cursor = await self._db.execute(sql, tuple(parameters))
            return cursor.rowcount

    async def _rows(self, sql: str, parameters: Iterable[Any] = ()) -> list[sqlite3.Row]:
        async with self._lock:
            self._check_open()
            await self._write_queued()
            cursor = await self._db.execute(sql, tuple(parameters))
            return list(await cursor.fetchall())

    async def _queue_write(self, sql: str, parameters: Iterable[Any]) -> None:
        """Write one row in the next batch and wait until it is committed.

        Answers and misses come in bursts (a busy channel); one transaction for every row queued by the time
        the lock is free costs one commit and one lock turn instead of one each.
        """
        self._check_open()
        committed = asyncio.get_running_loop().create_future()
        self._queued.append((sql, tuple(parameters), committed))
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
        try:
            await self._db.execute("BEGIN IMMEDIATE")
            try:
                # Runs of the same statement (misses, say) go to SQLite in one call.
                for sql, run in itertools.groupby(queued, key=lambda row: row[0]):
                    await self._db.executemany(sql, [parameters for _, parameters, _ in run])
            except BaseException:
                await self._db.execute("ROLLBACK")
                raise
            await self._db.execute("COMMIT")
        except sqlite3.Error:
            if self._db.in_transaction:  # a failed COMMIT leaves it open
                await self._db.execute("ROLLBACK")
            # One bad row must not sink the others: write each on its own, each caller told its own outcome.
            for sql, parameters, committed in queued:
                try:
                    await self._db.execute(sql, parameters)
                except sqlite3.Error as exc:
                    _settle(committed, exc)
                else:
                    _settle(committed, None)
            return
        except Exception as exc:  # noqa: BLE001 - anything else (a lost connection): every caller hears of it
            for _, _, committed in queued:
                _settle(committed, exc)
            return
        except BaseException:
            # Cancelled (the caller that was flushing gave up): rolled back, so write them in the next batch.
            self._queued[:0] = queued
            asyncio.get_running_loop().call_soon(self._schedule_flush)
            raise
        for _, _, committed in queued:
            _settle(committed, None)

    def _check_open(self) -> None:
        if self.closed:
            raise StorageError(f"{self.path}: the database is closed")

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
        async with self._transaction(write=False) as db:
            cursor = await db.execute(
                "SELECT confidence, answer_cooldown_seconds, user_rate_limit, moderator_role_id,"
                " mailsettings_public, solved_tag FROM guild_config WHERE guild_id = ?",
                (guild_id,),
            )
            row = await cursor.fetchone()
            cursor = await db.execute(
                "SELECT channel_id FROM enabled_channel WHERE guild_id = ?", (guild_id,)
            )
            channels = frozenset(int(channel_id) for (channel_id,) in await cursor.fetchall())
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
        if enabled:
            await self._run(
                "INSERT INTO enabled_channel (guild_id, channel_id, enabled_at) VALUES (?, ?, ?)"
                " ON CONFLICT (guild_id, channel_id) DO NOTHING",
                (guild_id, channel_id, self._now()),
            )
        else:
            await self._run(
                "DELETE FROM enabled_channel WHERE guild_id = ? AND channel_id = ?", (guild_id, channel_id)
            )
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
            columns = [*changes, "updated_at"]
            values = [*changes.values(), self._now()]
            # Column names come from the fixed keywords above, never from input.
            sql = (
                f"INSERT INTO guild_config (guild_id, {', '.join(columns)})"  # noqa: S608
                f" VALUES (?, {', '.join('?' for _ in columns)})"
                f" ON CONFLICT (guild_id) DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in columns)}"
            )
            await self._run(sql, (guild_id, *values))
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
        await self._queue_write(
            "INSERT INTO answer (message_id, guild_id, channel_id, entry_id, query, suggestions, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (message_id) DO UPDATE SET entry_id = excluded.entry_id, query = excluded.query,"
            " suggestions = excluded.suggestions",
            (message_id, guild_id, channel_id, entry_id, query, json.dumps(list(suggestions)), self._now()),
        )

    async def answer(self, message_id: int) -> AnswerRecord | None:
        rows = await self._rows(
            "SELECT guild_id, channel_id, entry_id, query, suggestions, created_at FROM answer"
            " WHERE message_id = ?",
            (message_id,),
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
        """One vote per user per answer message: voting again replaces the earlier vote."""
        await self._run(
            "INSERT INTO vote (message_id, user_id, guild_id, entry_id, helpful, voted_at)"
            " VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (message_id, user_id) DO UPDATE SET entry_id = excluded.entry_id,"
            " helpful = excluded.helpful, voted_at = excluded.voted_at",
            (message_id, user_id, guild_id, entry_id, int(helpful), self._now()),
        )

    async def worst_entries(self, guild_id: int | None, limit: int = 5) -> list[EntryFeedback]:
        """Entries with at least one 👎, most 👎 relative to 👍 first; `guild_id=None` counts every guild.

        The share of 👎 is smoothed ((👎+1)/(votes+2)) so one early 👎 does not outrank a long record of them.
        """
        _check_limit(limit)
        rows = await self._rows(
            "SELECT entry_id, SUM(helpful) AS up, SUM(1 - helpful) AS down FROM vote"
            " WHERE ?1 IS NULL OR guild_id = ?1"
            " GROUP BY entry_id HAVING down > 0"
            " ORDER BY (down + 1.0) / (up + down + 2.0) DESC, down DESC, entry_id"
            " LIMIT ?2",
            (guild_id, limit),
        )
        return [
            EntryFeedback(entry_id=entry, helpful=int(up), not_helpful=int(down)) for entry, up, down in rows
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
            "INSERT INTO miss (at, guild_id, channel_id, text, grouping_key, reason, entry_id, score)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (self._now(), guild_id, channel_id, text, grouping_key(text), reason, entry_id, score),
        )

    async def top_misses(self, guild_id: int | None, limit: int = 10) -> list[MissRow]:
        """The most repeated misses, repeats counted across case/spacing/punctuation; `None` = every guild."""
        _check_limit(limit)
        # SQLite fills the bare columns from the row that holds MAX(id): the latest miss of each group.
        rows = await self._rows(
            "SELECT text, at, reason, entry_id, score, COUNT(*) AS repeats, MAX(id) AS latest FROM miss"
            " WHERE ?1 IS NULL OR guild_id = ?1"
            " GROUP BY grouping_key ORDER BY repeats DESC, latest DESC LIMIT ?2",
            (guild_id, limit),
        )
        return [
            MissRow(
                text=text,
                count=int(repeats),
                last_seen=_from_text(at),
                reason=reason,
                entry_id=entry_id,
                score=score,
                latest_id=int(latest),
            )
            for text, at, reason, entry_id, score, repeats, latest in rows
        ]

    async def missed_question(self, guild_id: int, miss_id: int) -> str | None:
        """The text of miss `miss_id` if it was recorded in `guild_id` and is still kept, else None."""
        rows = await self._rows("SELECT text FROM miss WHERE id = ? AND guild_id = ?", (miss_id, guild_id))
        return str(rows[0][0]) if rows else None

    # --- learned phrasings ------------------------------------------------------------------------------

    async def learn_phrasing(self, guild_id: int, entry_id: str, text: str, taught_by: int) -> LearnedPhrasing:
        """Teach `text` as a way to ask for `entry_id` in `guild_id`; the same text taught again (whatever its case
        and spacing) moves to the new entry, with its new teacher and time."""
        key = grouping_key(text)
        if not key.strip() or not entry_id:
            raise ValueError("a learned phrasing needs text and an entry")
        taught_at = self._now()
        rows = await self._rows(
            "INSERT INTO learned_phrasing (guild_id, entry_id, text, grouping_key, taught_by, taught_at)"
            " VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (guild_id, grouping_key) DO UPDATE SET entry_id = excluded.entry_id,"
            " text = excluded.text, taught_by = excluded.taught_by, taught_at = excluded.taught_at"
            " RETURNING id",
            (guild_id, entry_id, text, key, taught_by, taught_at),
        )
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
        rows = await self._rows(
            "SELECT id, guild_id, entry_id, text, taught_by, taught_at FROM learned_phrasing"
            " WHERE ?1 IS NULL OR guild_id = ?1 ORDER BY taught_at DESC, id DESC",
            (guild_id,),
        )
        return [_learned(row) for row in rows]

    async def forget_phrasing(self, guild_id: int, phrasing_id: int) -> LearnedPhrasing | None:
        """Remove a learned phrasing of `guild_id`; what was removed, or None if it has no such phrasing."""
        rows = await self._rows(
            "DELETE FROM learned_phrasing WHERE id = ? AND guild_id = ?"
            " RETURNING id, guild_id, entry_id, text, taught_by, taught_at",
            (phrasing_id, guild_id),
        )
        return _learned(rows[0]) if rows else None

    async def taught_guilds(self) -> set[int]:
        """The guilds that have at least one learned phrasing."""
        rows = await self._rows("SELECT DISTINCT guild_id FROM learned_phrasing")
        return {int(row[0]) for row in rows}

    async def purge_expired(self, retention_days: int, now: datetime | None = None) -> int:
        """Delete misses older than `retention_days`, and forget the questions behind older answers.

        Members' words are kept only as long as the retention period says; an old answer keeps its entry and
        suggestions, so its buttons still work. Returns the number of misses deleted.
        """
        if retention_days < 0:
            raise ValueError("retention_days must be zero or more")
        cutoff = _to_text((now or self._clock()) - timedelta(days=retention_days))
        await self._run("UPDATE answer SET query = '' WHERE created_at < ? AND query != ''", (cutoff,))
        return await self._run("DELETE FROM miss WHERE at < ?", (cutoff,))

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
            "INSERT INTO probe_audit (at, user_id, guild_id, action, target, address, outcome, duration_ms)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (self._now(), user_id, guild_id, action, target, address, outcome, max(0, int(duration_ms))),
        )

    async def probe_history(self, guild_id: int | None, limit: int = 10) -> list[ProbeAuditRow]:
        """The latest probes first; `guild_id=None` lists every guild and direct messages."""
        _check_limit(limit)
        rows = await self._rows(
            "SELECT at, user_id, guild_id, action, target, address, outcome, duration_ms FROM probe_audit"
            " WHERE ?1 IS NULL OR guild_id = ?1 ORDER BY at DESC, id DESC LIMIT ?2",
            (guild_id, limit),
        )
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
            for at, user_id, row_guild_id, action, target, address, outcome, duration_ms in rows
        ]
