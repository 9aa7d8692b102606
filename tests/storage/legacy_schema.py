"""The schema as the SQLite-only releases built it: their three migration scripts, verbatim, counted in
`PRAGMA user_version`. Tests build such files to check that today's code adopts them with their data."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

LEGACY_MIGRATIONS: tuple[str, ...] = (
    # 1: per-guild settings, the answers the bot posted, votes on them, and misses.
    """
    CREATE TABLE guild_config (
        guild_id                INTEGER PRIMARY KEY,
        confidence              TEXT,       -- NULL: the GUIDENEST_DEFAULT_CONFIDENCE setting
        answer_cooldown_seconds REAL,       -- NULL: the GUIDENEST_ANSWER_COOLDOWN_SECONDS setting
        user_rate_limit         INTEGER,    -- NULL: the GUIDENEST_USER_RATE_LIMIT setting
        moderator_role_id       INTEGER,
        mailsettings_public     INTEGER NOT NULL DEFAULT 0,
        updated_at              TEXT NOT NULL
    );

    -- Channels, threads and forums where passive answering is on; absent means off.
    CREATE TABLE enabled_channel (
        guild_id   INTEGER NOT NULL,
        channel_id INTEGER NOT NULL,
        enabled_at TEXT NOT NULL,
        PRIMARY KEY (guild_id, channel_id)
    ) WITHOUT ROWID;

    CREATE TABLE answer (
        message_id  INTEGER PRIMARY KEY,
        guild_id    INTEGER,
        channel_id  INTEGER NOT NULL,
        entry_id    TEXT NOT NULL,
        query       TEXT NOT NULL,
        suggestions TEXT NOT NULL,          -- JSON array of entry ids
        created_at  TEXT NOT NULL
    );

    CREATE TABLE vote (
        message_id INTEGER NOT NULL,
        user_id    INTEGER NOT NULL,
        guild_id   INTEGER,
        entry_id   TEXT NOT NULL,
        helpful    INTEGER NOT NULL CHECK (helpful IN (0, 1)),
        voted_at   TEXT NOT NULL,
        PRIMARY KEY (message_id, user_id)
    );
    CREATE INDEX vote_by_guild_entry ON vote (guild_id, entry_id);

    CREATE TABLE miss (
        id           INTEGER PRIMARY KEY,
        at           TEXT NOT NULL,
        guild_id     INTEGER,
        channel_id   INTEGER,
        text         TEXT NOT NULL,
        grouping_key TEXT NOT NULL,         -- the text without case, spacing and punctuation
        reason       TEXT NOT NULL,
        entry_id     TEXT,
        score        REAL
    );
    CREATE INDEX miss_by_at ON miss (at);
    CREATE INDEX miss_by_guild_key ON miss (guild_id, grouping_key);
    """,
    # 2: the probe audit log: who probed what, from where it resolved, and how it went.
    """
    CREATE TABLE probe_audit (
        id          INTEGER PRIMARY KEY,
        at          TEXT NOT NULL,
        user_id     INTEGER,
        guild_id    INTEGER,
        action      TEXT NOT NULL,
        target      TEXT NOT NULL,
        address     TEXT,
        outcome     TEXT NOT NULL,
        duration_ms INTEGER NOT NULL
    );
    CREATE INDEX probe_audit_by_guild_at ON probe_audit (guild_id, at);
    """,
    # 3: phrasings moderators taught for an entry (their server's matcher includes them), and the forum tag that
    # marks a post solved when its author finds the bot's answer helpful.
    """
    CREATE TABLE learned_phrasing (
        id           INTEGER PRIMARY KEY,
        guild_id     INTEGER NOT NULL,
        entry_id     TEXT NOT NULL,
        text         TEXT NOT NULL,
        grouping_key TEXT NOT NULL,         -- as in miss: one phrasing per guild whatever its case and spacing
        taught_by    INTEGER NOT NULL,
        taught_at    TEXT NOT NULL,
        UNIQUE (guild_id, grouping_key)
    );
    CREATE INDEX learned_phrasing_by_entry ON learned_phrasing (entry_id);

    ALTER TABLE guild_config ADD COLUMN solved_tag TEXT;          -- a tag name: each forum has its own tag ids
    """,
)


def make_legacy_database(path: Path, version: int) -> None:
    """A file as the SQLite-only release at schema `version` left it (WAL, user_version set)."""
    with closing(sqlite3.connect(path, isolation_level=None)) as connection:
        connection.execute("PRAGMA journal_mode = WAL")
        for script in LEGACY_MIGRATIONS[:version]:
            connection.executescript(script)
        connection.execute(f"PRAGMA user_version = {int(version)}")
