"""The database schema at the newest revision, as SQLAlchemy Core tables: one schema for SQLite and PostgreSQL.

Queries are built from these tables. The revisions in `alembic/versions/` create the same tables step by step;
`tests/storage/test_migrations.py` checks that a database built by them matches this file.

Discord ids are 64-bit (BigInteger). A SQLite table's own row id must be spelt INTEGER to be the rowid (fast
appends, ids in insertion order), hence the variant. Timestamps are fixed-width UTC ISO text (see store.py), so
they sort and compare as text on both backends.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
)

RowId = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData()

guild_config = Table(
    "guild_config",
    metadata,
    Column("guild_id", BigInteger, primary_key=True, autoincrement=False),
    Column("confidence", Text),  # NULL: the GUIDENEST_DEFAULT_CONFIDENCE setting
    Column("answer_cooldown_seconds", Float),
    Column("user_rate_limit", Integer),
    Column("moderator_role_id", BigInteger),
    Column("mailsettings_public", Integer, nullable=False, server_default="0"),
    Column("updated_at", Text, nullable=False),
    Column("solved_tag", Text),  # a tag name: each forum has its own tag ids
)

# Channels, threads and forums where passive answering is on; absent means off.
enabled_channel = Table(
    "enabled_channel",
    metadata,
    Column("guild_id", BigInteger, primary_key=True, autoincrement=False),
    Column("channel_id", BigInteger, primary_key=True, autoincrement=False),
    Column("enabled_at", Text, nullable=False),
    sqlite_with_rowid=False,
)

answer = Table(
    "answer",
    metadata,
    Column("message_id", BigInteger, primary_key=True, autoincrement=False),
    Column("guild_id", BigInteger),
    Column("channel_id", BigInteger, nullable=False),
    Column("entry_id", Text, nullable=False),
    Column("query", Text, nullable=False),
    Column("suggestions", Text, nullable=False),  # JSON array of entry ids
    Column("created_at", Text, nullable=False),
)

vote = Table(
    "vote",
    metadata,
    Column("message_id", BigInteger, primary_key=True, autoincrement=False),
    Column("user_id", BigInteger, primary_key=True, autoincrement=False),
    Column("guild_id", BigInteger),
    Column("entry_id", Text, nullable=False),
    Column("helpful", Integer, CheckConstraint("helpful IN (0, 1)"), nullable=False),
    Column("voted_at", Text, nullable=False),
    Index("vote_by_guild_entry", "guild_id", "entry_id"),
)

miss = Table(
    "miss",
    metadata,
    Column("id", RowId, primary_key=True),
    Column("at", Text, nullable=False),
    Column("guild_id", BigInteger),
    Column("channel_id", BigInteger),
    Column("text", Text, nullable=False),
    Column("grouping_key", Text, nullable=False),  # the text without case, spacing and punctuation
    Column("reason", Text, nullable=False),
    Column("entry_id", Text),
    Column("score", Float),
    Index("miss_by_at", "at"),
    Index("miss_by_guild_key", "guild_id", "grouping_key"),
)

probe_audit = Table(
    "probe_audit",
    metadata,
    Column("id", RowId, primary_key=True),
    Column("at", Text, nullable=False),
    Column("user_id", BigInteger),
    Column("guild_id", BigInteger),
    Column("action", Text, nullable=False),
    Column("target", Text, nullable=False),
    Column("address", Text),
    Column("outcome", Text, nullable=False),
    Column("duration_ms", BigInteger, nullable=False),
    Index("probe_audit_by_guild_at", "guild_id", "at"),
)

learned_phrasing = Table(
    "learned_phrasing",
    metadata,
    Column("id", RowId, primary_key=True),
    Column("guild_id", BigInteger, nullable=False),
    Column("entry_id", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("grouping_key", Text, nullable=False),  # as in miss: one phrasing per guild whatever its case and spacing
    Column("taught_by", BigInteger, nullable=False),
    Column("taught_at", Text, nullable=False),
    UniqueConstraint("guild_id", "grouping_key"),
    Index("learned_phrasing_by_entry", "entry_id"),
)

# The order `guidenest db copy` fills tables in, and the tables it counts.
TABLES: tuple[Table, ...] = (guild_config, enabled_channel, answer, vote, miss, probe_audit, learned_phrasing)
