"""The probe audit log: who probed what, from where it resolved, and how it went (SQLite user_version 2).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

RowId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "probe_audit",
        sa.Column("id", RowId, primary_key=True),
        sa.Column("at", sa.Text, nullable=False),
        sa.Column("user_id", sa.BigInteger),
        sa.Column("guild_id", sa.BigInteger),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("address", sa.Text),
        sa.Column("outcome", sa.Text, nullable=False),
        sa.Column("duration_ms", sa.BigInteger, nullable=False),
    )
    op.create_index("probe_audit_by_guild_at", "probe_audit", ["guild_id", "at"])
