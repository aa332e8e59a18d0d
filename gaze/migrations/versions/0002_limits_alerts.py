"""limits and alerts

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

ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "time_limit",
        sa.Column("module", sa.String(1024), primary_key=True),
        sa.Column("minutes", sa.Integer, nullable=False),
        sa.Column("updated_ms", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "alert",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("raised_ms", sa.BigInteger, nullable=False),
        sa.Column("user_id", sa.String(512), nullable=False),
        sa.Column("ip", sa.String(64), nullable=False),
        sa.Column("module", sa.String(1024), nullable=False),
        sa.Column("limit_minutes", sa.Integer, nullable=False),
        sa.Column("session_start_ms", sa.BigInteger, nullable=False),
        sa.Column("acknowledged_ms", sa.BigInteger, nullable=True),
        sa.Column("acknowledged_by", sa.String(128), nullable=True),
    )
    op.create_index("ix_alert_raised_ms", "alert", ["raised_ms"])


def downgrade() -> None:
    op.drop_table("alert")
    op.drop_table("time_limit")
