"""Phrasings moderators taught, and the forum tag that marks a post solved (SQLite user_version 3).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

RowId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "learned_phrasing",
        sa.Column("id", RowId, primary_key=True),
        sa.Column("guild_id", sa.BigInteger, nullable=False),
        sa.Column("entry_id", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("grouping_key", sa.Text, nullable=False),
        sa.Column("taught_by", sa.BigInteger, nullable=False),
        sa.Column("taught_at", sa.Text, nullable=False),
        sa.UniqueConstraint("guild_id", "grouping_key"),
    )
    op.create_index("learned_phrasing_by_entry", "learned_phrasing", ["entry_id"])
    # A plain ADD COLUMN: SQLite needs no table rebuild for it.
    op.add_column("guild_config", sa.Column("solved_tag", sa.Text))
