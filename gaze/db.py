"""Our own database (SQLAlchemy 2): checkpoint, session records, log-writer intents — DESIGN §1.

SQLite by default, PostgreSQL when `MODULEGAZE_DATABASE_URL` says so. The schema is owned by the
Alembic migrations in gaze/migrations, applied by `migrate()` at start-up.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import (
    BigInteger,
    Connection,
    Engine,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    create_engine,
    event,
    inspect,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from gaze.hardening import redact

MIGRATIONS = Path(__file__).parent / "migrations"
MIGRATE_URL_VARIABLE = "_MODULEGAZE_MIGRATE_URL"
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


def make_engine(url: str) -> Engine:
    """An engine for our own state; SQLite gets WAL + full sync and its folder created."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    kwargs: dict[str, Any] = {"future": True}
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    else:
        kwargs["pool_pre_ping"] = True
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def head_revision() -> str:
    """The newest revision in gaze/migrations/versions (the one no other revision follows)."""
    revisions: dict[str, str | None] = {}
    for path in (MIGRATIONS / "versions").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        rev = re.search(r"^revision = ['\"]([^'\"]+)['\"]", text, re.MULTILINE)
        down = re.search(r"^down_revision = (?:['\"]([^'\"]+)['\"]|None)", text, re.MULTILINE)
        if rev and down:
            revisions[rev.group(1)] = down.group(1)
    heads = set(revisions) - {d for d in revisions.values() if d}
    if len(heads) != 1:
        raise RuntimeError(f"migrations must have exactly one head, found {sorted(heads)}")
    return heads.pop()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def migrate(engine: Engine, *, in_process: bool = False) -> None:
    """Bring the schema to the newest Alembic revision.

    For the long-running service Alembic runs in a short-lived child process, only when an upgrade
    is due, so the service does not keep it (about 11 MB) in memory. A one-shot command, which
    exits anyway, runs it `in_process` and saves starting a second Python (about 0.5 s).
    """
    if current_revision(engine) == head_revision():
        return
    url = engine.url.render_as_string(hide_password=False)
    if in_process:
        try:
            _upgrade(url)
        except Exception as exc:
            raise MigrationError(error_text(exc)) from exc
        return
    result = subprocess.run(  # the URL goes by environment: a password must not show in `ps`
        [sys.executable, "-m", "gaze.db"],
        env={**os.environ, MIGRATE_URL_VARIABLE: url},
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
        timeout=300,
    )
    if result.returncode != 0:
        lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
        raise MigrationError(lines[-1] if lines else f"migration exited with code {result.returncode}")


def error_text(exc: BaseException) -> str:
    """A database exception as one line of words (no password): the driver's message, not SQLAlchemy's wrapper."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return redact(text.splitlines()[0] if text else type(exc).__name__)[:200]


def write_lock(conn: Connection, key: int, table: str) -> None:
    """Hold a write lock to the end of the transaction, taken first so that what the transaction
    reads stays true until it commits: on PostgreSQL the advisory lock `key` (one per kind of
    writer), on SQLite the database's write lock, by a write that changes nothing in `table` (this
    also opens the transaction, and SQLite never has to upgrade a stale read transaction)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})
    else:
        conn.execute(text(f"DELETE FROM {table} WHERE 0 = 1"))


def answers(engine: Engine) -> bool:
    """Whether the database answers a SELECT 1 now."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception:
        return False
    return True


class MigrationError(RuntimeError):
    """The schema could not be brought up to date; str() is the last line Alembic printed."""


def _upgrade(url: str) -> None:
    from alembic import command
    from alembic.config import Config

    engine = make_engine(url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    finally:
        engine.dispose()


if __name__ == "__main__":
    _upgrade(os.environ[MIGRATE_URL_VARIABLE])
