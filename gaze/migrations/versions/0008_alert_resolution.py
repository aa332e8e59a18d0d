"""alerts end by themselves: when and how

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("alert", sa.Column("resolved_ms", sa.BigInteger, nullable=True))
    op.add_column("alert", sa.Column("resolution", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alert") as batch:
        batch.drop_column("resolution")
        batch.drop_column("resolved_ms")
