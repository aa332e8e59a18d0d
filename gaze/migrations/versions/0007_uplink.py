"""uplink: outbox of records for the organisation's bucket, and the batches (key + bytes) sent there

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "uplink_outbox",
        sa.Column("record_id", ID, primary_key=True, autoincrement=False),
        sa.Column("end_ms", sa.BigInteger, nullable=False),
        sa.Column("batch_id", sa.BigInteger, nullable=True),
        sa.Column("queued_ms", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_uplink_outbox_batch_end", "uplink_outbox", ["batch_id", "end_ms"])
    op.create_table(
        "uplink_batch",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(1024), nullable=False, unique=True),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("records", sa.Integer, nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("sent_ms", sa.BigInteger, nullable=True),
    )
    op.create_index("ix_uplink_batch_sent_ms", "uplink_batch", ["sent_ms"])


def downgrade() -> None:
    op.drop_table("uplink_batch")
    op.drop_table("uplink_outbox")
