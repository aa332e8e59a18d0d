"""Our own database's engine (SQLAlchemy 2): connecting (`make_engine`: SQLite WAL + full sync, or
PostgreSQL), bringing the schema up to date (`migrate`, Alembic in gaze/migrations), the write lock
of a transaction, and a database error as one line of words. The tables are gaze/db.py.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text

from gaze.hardening import redact

MIGRATIONS = Path(__file__).parent / "migrations"
MIGRATE_URL_VARIABLE = "_MODULEGAZE_MIGRATE_URL"


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
        [sys.executable, "-m", "gaze.engine"],
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
