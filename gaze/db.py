"""Our own database (SQLAlchemy 2): checkpoint, session records, log-writer intents — DESIGN §1.

SQLite by default, PostgreSQL when `MODULEGAZE_DATABASE_URL` says so. The schema is owned by the
Alembic migrations in gaze/migrations, applied by `migrate()` at start-up. The tables are here; the
engine, `migrate()` and the error texts are gaze/engine.py (its names are found here too).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from sqlalchemy import (
    BigInteger,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from gaze.engine import (
    MIGRATIONS,
    MigrationError,
    answers,
    current_revision,
    error_text,
    head_revision,
    make_engine,
    migrate,
    write_lock,
)

__all__ = [  # the engine's names too: gaze.db is where the rest of the code finds its database
    "BACKFILL",
    "HOURS",
    "IMPORT",
    "LIVE",
    "MIGRATIONS",
    "AlertRow",
    "Base",
    "Checkpoint",
    "DeviceLabelRow",
    "DuplicateRow",
    "LimitRow",
    "LogWriterRow",
    "MigrationError",
    "OutboxRow",
    "RecordRow",
    "SetAsideRow",
    "UplinkBatchRow",
    "UsageDaily",
    "UsageDim",
    "UsageHourly",
    "UserRow",
    "answers",
    "current_revision",
    "error_text",
    "head_revision",
    "make_engine",
    "migrate",
    "write_lock",
]

LIVE = "live"
BACKFILL = "backfill"
IMPORT = "import"


class Base(DeclarativeBase):
    if TYPE_CHECKING:
        # Every model here is mapped to a Table (SQLAlchemy types `__table__` as any FromClause,
        # which insert()/update()/delete() do not accept).
        __table__: ClassVar[Table]


class Checkpoint(Base):
    """Where the live reader stands: journal cursor and open sessions, committed with the records."""

    __tablename__ = "checkpoint"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    cursor: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(Text, default="{}")
    updated_ms: Mapped[int] = mapped_column(BigInteger, default=0)


class RecordRow(Base):
    """One closed session (the same record as a modulegaze-sessions.log line)."""

    __tablename__ = "session_record"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    end_ms: Mapped[int] = mapped_column(BigInteger)
    start_ms: Mapped[int] = mapped_column(BigInteger)
    user_id: Mapped[str] = mapped_column(Text)
    ip: Mapped[str] = mapped_column(Text)
    module: Mapped[str] = mapped_column(Text)
    duration_s: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16), default=LIVE)

    __table_args__ = (
        Index("ix_session_record_end_ms", "end_ms"),
        Index("ix_session_record_source_id", "source", "id"),
    )


class LogWriterRow(Base):
    """Exactly-once bookkeeping for one plain log file: what is written, and the write under way."""

    __tablename__ = "log_writer"
    stem: Mapped[str] = mapped_column(String(64), primary_key=True)
    written_upto: Mapped[int] = mapped_column(BigInteger, default=0)
    intent_path: Mapped[str | None] = mapped_column(Text)
    intent_offset: Mapped[int | None] = mapped_column(BigInteger)
    intent_data: Mapped[bytes | None] = mapped_column(LargeBinary)
    intent_upto: Mapped[int | None] = mapped_column(BigInteger)


class LimitRow(Base):
    """A time limit in minutes for one module (catalog slug, or a log slug without catalog entry)."""

    __tablename__ = "time_limit"
    module: Mapped[str] = mapped_column(Text, primary_key=True)
    minutes: Mapped[int] = mapped_column(Integer)
    updated_ms: Mapped[int] = mapped_column(BigInteger)


class AlertRow(Base):
    """One open session that went past its module's limit."""

    __tablename__ = "alert"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    raised_ms: Mapped[int] = mapped_column(BigInteger, index=True)
    user_id: Mapped[str] = mapped_column(Text)
    ip: Mapped[str] = mapped_column(Text)
    module: Mapped[str] = mapped_column(Text)
    limit_minutes: Mapped[int] = mapped_column(Integer)
    session_start_ms: Mapped[int] = mapped_column(BigInteger)
    acknowledged_ms: Mapped[int | None] = mapped_column(BigInteger)
    acknowledged_by: Mapped[str | None] = mapped_column(String(128))
    resolved_ms: Mapped[int | None] = mapped_column(BigInteger)  # ended by itself (migration 0008)
    resolution: Mapped[str | None] = mapped_column(String(64))


class UserRow(Base):
    """Someone who may log in to the board: admin (changes things) or viewer (looks)."""

    __tablename__ = "app_user"
    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16))
    created_ms: Mapped[int] = mapped_column(BigInteger)


HOURS = tuple(f"h{h:02d}" for h in range(24))  # usage_daily's per-local-hour columns (milliseconds)


class UsageDaily(Base):
    """Roll-up of counted session records per local day of their end (YYYYMMDD) and module, device, user.

    `seconds` and `sessions` add up the records; h00…h23 hold the milliseconds of those sessions that
    fell in each local hour of the day (a session is split at local hour boundaries). Maintained by
    gaze.records.add_records in the transaction that inserts the records.
    """

    __tablename__ = "usage_daily"
    day: Mapped[int] = mapped_column(Integer, primary_key=True)
    module: Mapped[str] = mapped_column(Text, primary_key=True)
    ip: Mapped[str] = mapped_column(Text, primary_key=True)
    user_id: Mapped[str] = mapped_column(Text, primary_key=True)
    seconds: Mapped[int] = mapped_column(BigInteger, default=0)
    sessions: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        # covering the distinct-count of the other dimensions under one filter
        Index("ix_usage_daily_ip_day", "ip", "day", "user_id"),
        Index("ix_usage_daily_user_day", "user_id", "day", "ip"),
        Index("ix_usage_daily_module_day", "module", "day", "ip", "user_id"),
    )


for _hour in HOURS:
    setattr(UsageDaily, _hour, mapped_column(_hour, BigInteger, default=0, nullable=False))
del _hour


class UsageDim(Base):
    """Roll-up per local day and ONE dimension (dim = "module", "ip" or "user", value = which):
    seconds, sessions and h00…h23 like usage_daily. A few rows per day, for the unfiltered and
    single-filter History queries over long ranges."""

    __tablename__ = "usage_dim"
    dim: Mapped[str] = mapped_column(String(8), primary_key=True)
    day: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[str] = mapped_column(Text, primary_key=True)
    seconds: Mapped[int] = mapped_column(BigInteger, default=0)
    sessions: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (Index("ix_usage_dim_value_day", "dim", "value", "day"),)


for _hour in HOURS:
    setattr(UsageDim, _hour, mapped_column(_hour, BigInteger, default=0, nullable=False))
del _hour


class UsageHourly(Base):
    """Roll-up per local day of the session end and local hour: milliseconds spent, sessions active."""

    __tablename__ = "usage_hourly"
    day: Mapped[int] = mapped_column(Integer, primary_key=True)
    hour: Mapped[int] = mapped_column(Integer, primary_key=True)
    ms: Mapped[int] = mapped_column(BigInteger, default=0)
    sessions: Mapped[int] = mapped_column(Integer, default=0)


class DuplicateRow(Base):
    """A session_record row that repeats a counted one (a live record of a session already imported or
    backfilled): kept for the live log writer, left out of the History and its roll-ups."""

    __tablename__ = "session_duplicate"
    record_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)


class DeviceLabelRow(Base):
    """The admin's name for a device (by IP address)."""

    __tablename__ = "device_label"
    ip: Mapped[str] = mapped_column(Text, primary_key=True)
    label: Mapped[str] = mapped_column(String(40))
    updated_ms: Mapped[int] = mapped_column(BigInteger)


class SetAsideRow(Base):
    """Something that could not be stored (a journal entry the pipeline choked on, a record the
    database refused), kept for inspection instead of being retried in front of everything else."""

    __tablename__ = "set_aside"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    at_ms: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(Text)  # "entry" | "record"
    data: Mapped[str] = mapped_column(Text)  # JSON, ASCII only (any text survives)
    error: Mapped[str] = mapped_column(Text)


class OutboxRow(Base):
    """A session record queued for the uplink (DESIGN §8): batch_id is NULL while it waits, then the
    batch it went out in. Rows stay once shipped, so a record is never queued twice."""

    __tablename__ = "uplink_outbox"
    record_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    end_ms: Mapped[int] = mapped_column(BigInteger)
    batch_id: Mapped[int | None] = mapped_column(BigInteger)
    queued_ms: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_uplink_outbox_batch_end", "batch_id", "end_ms"),)


class UplinkBatchRow(Base):
    """One CSV object for the organisation's bucket: key and bytes fixed before the first attempt."""

    __tablename__ = "uplink_batch"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(1024), unique=True)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    records: Mapped[int] = mapped_column(Integer)
    created_ms: Mapped[int] = mapped_column(BigInteger)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sent_ms: Mapped[int | None] = mapped_column(BigInteger, index=True)
