"""unbounded text for what the journal supplies (user, address, module) and a set_aside table

A learner's browser chooses the user name, the module slug and (with an IPv6 zone) the address
length, so no column that stores them may have a length cap (issue 12): PostgreSQL refused a
601-character user and stopped recording. SQLite does not enforce lengths; only PostgreSQL is
altered. `set_aside` keeps what could still not be stored, for inspection, instead of retrying it
in front of everything else.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")
COLUMNS = {  # frozen: the capped columns as 0001-0004 made them
    "session_record": ("user_id", "ip", "module"),
    "usage_daily": ("module", "ip", "user_id"),
    "usage_dim": ("value",),
    "alert": ("user_id", "ip", "module"),
    "time_limit": ("module",),
    "device_label": ("ip",),
}


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table, columns in COLUMNS.items():
            for column in columns:
                op.alter_column(table, column, type_=sa.Text())
    op.create_table(
        "set_aside",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("at_ms", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("error", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("set_aside")
