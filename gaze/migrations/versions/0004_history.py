"""history: usage roll-ups (daily, per dimension, hourly), duplicate markers, device labels; roll-ups filled from session_record

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")
HOURS = [f"h{h:02d}" for h in range(24)]


def upgrade() -> None:
    op.create_table(
        "usage_daily",
        sa.Column("day", sa.Integer, nullable=False),
        sa.Column("module", sa.String(1024), nullable=False),
        sa.Column("ip", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(512), nullable=False),
        sa.Column("seconds", sa.BigInteger, nullable=False),
        sa.Column("sessions", sa.Integer, nullable=False),
        *[sa.Column(h, sa.BigInteger, nullable=False) for h in HOURS],
        sa.PrimaryKeyConstraint("day", "module", "ip", "user_id"),
    )
    op.create_index("ix_usage_daily_ip_day", "usage_daily", ["ip", "day", "user_id"])
    op.create_index("ix_usage_daily_user_day", "usage_daily", ["user_id", "day", "ip"])
    op.create_index("ix_usage_daily_module_day", "usage_daily", ["module", "day", "ip", "user_id"])
    op.create_table(
        "usage_dim",
        sa.Column("dim", sa.String(8), nullable=False),
        sa.Column("day", sa.Integer, nullable=False),
        sa.Column("value", sa.String(1024), nullable=False),
        sa.Column("seconds", sa.BigInteger, nullable=False),
        sa.Column("sessions", sa.Integer, nullable=False),
        *[sa.Column(h, sa.BigInteger, nullable=False) for h in HOURS],
        sa.PrimaryKeyConstraint("dim", "day", "value"),
    )
    op.create_index("ix_usage_dim_value_day", "usage_dim", ["dim", "value", "day"])
    op.create_table(
        "usage_hourly",
        sa.Column("day", sa.Integer, nullable=False),
        sa.Column("hour", sa.Integer, nullable=False),
        sa.Column("ms", sa.BigInteger, nullable=False),
        sa.Column("sessions", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("day", "hour"),
    )
    op.create_table("session_duplicate", sa.Column("record_id", ID, primary_key=True, autoincrement=False))
    op.create_table(
        "device_label",
        sa.Column("ip", sa.String(64), primary_key=True),
        sa.Column("label", sa.String(40), nullable=False),
        sa.Column("updated_ms", sa.BigInteger, nullable=False),
    )
    # Data step: the roll-ups of the records already stored, read in end_ms order in batches (the
    # same code add_records uses, so the figures are the ones later inserts keep up to date).
    from gaze.history import rebuild_rollups

    rebuild_rollups(op.get_bind())


def downgrade() -> None:
    op.drop_table("device_label")
    op.drop_table("session_duplicate")
    op.drop_table("usage_hourly")
    op.drop_table("usage_dim")
    op.drop_table("usage_daily")
