"""core: checkpoint, session records, log writer

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

ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "checkpoint",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("cursor", sa.Text, nullable=True),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("updated_ms", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "session_record",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("end_ms", sa.BigInteger, nullable=False),
        sa.Column("start_ms", sa.BigInteger, nullable=False),
        sa.Column("user_id", sa.String(512), nullable=False),
        sa.Column("ip", sa.String(64), nullable=False),
        sa.Column("module", sa.String(1024), nullable=False),
        sa.Column("duration_s", sa.Integer, nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
    )
    op.create_index("ix_session_record_end_ms", "session_record", ["end_ms"])
    op.create_index("ix_session_record_source_id", "session_record", ["source", "id"])
    op.create_table(
        "log_writer",
        sa.Column("stem", sa.String(64), primary_key=True),
        sa.Column("written_upto", sa.BigInteger, nullable=False),
        sa.Column("intent_path", sa.Text, nullable=True),
        sa.Column("intent_offset", sa.BigInteger, nullable=True),
        sa.Column("intent_data", sa.LargeBinary, nullable=True),
        sa.Column("intent_upto", sa.BigInteger, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("log_writer")
    op.drop_table("session_record")
    op.drop_table("checkpoint")
