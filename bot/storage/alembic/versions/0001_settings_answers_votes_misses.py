"""Per-guild settings, the answers the bot posted, votes on them, and misses (SQLite user_version 1).

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

RowId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "guild_config",
        sa.Column("guild_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("confidence", sa.Text),
        sa.Column("answer_cooldown_seconds", sa.Float),
        sa.Column("user_rate_limit", sa.Integer),
        sa.Column("moderator_role_id", sa.BigInteger),
        sa.Column("mailsettings_public", sa.Integer, nullable=False, server_default="0"),
        sa.Column("updated_at", sa.Text, nullable=False),
    )
    op.create_table(
        "enabled_channel",
        sa.Column("guild_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("channel_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("enabled_at", sa.Text, nullable=False),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "answer",
        sa.Column("message_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("guild_id", sa.BigInteger),
        sa.Column("channel_id", sa.BigInteger, nullable=False),
        sa.Column("entry_id", sa.Text, nullable=False),
        sa.Column("query", sa.Text, nullable=False),
        sa.Column("suggestions", sa.Text, nullable=False),
        sa.Column("created_at", sa.Text, nullable=False),
    )
    op.create_table(
        "vote",
        sa.Column("message_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("user_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("guild_id", sa.BigInteger),
        sa.Column("entry_id", sa.Text, nullable=False),
        sa.Column("helpful", sa.Integer, sa.CheckConstraint("helpful IN (0, 1)"), nullable=False),
        sa.Column("voted_at", sa.Text, nullable=False),
    )
    op.create_index("vote_by_guild_entry", "vote", ["guild_id", "entry_id"])
    op.create_table(
        "miss",
        sa.Column("id", RowId, primary_key=True),
        sa.Column("at", sa.Text, nullable=False),
        sa.Column("guild_id", sa.BigInteger),
        sa.Column("channel_id", sa.BigInteger),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("grouping_key", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("entry_id", sa.Text),
        sa.Column("score", sa.Float),
    )
    op.create_index("miss_by_at", "miss", ["at"])
    op.create_index("miss_by_guild_key", "miss", ["guild_id", "grouping_key"])
