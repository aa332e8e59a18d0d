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

from gaze.hardening import error_text as error_text  # found here too (gaze.db)

MIGRATIONS = Path(__file__).parent / "migrations"
MIGRATE_URL_VARIABLE = "_MODULEGAZE_MIGRATE_URL"
NEW_SQLITE = Path(__file__).parent / "new_sqlite.sql"  # a new SQLite database's schema (create_new_sqlite)


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
    # SQLite's own lower() folds only A-Z: /history's filters (gaze/history_filters.py) must find "é"
    # for "É" as PostgreSQL's does
    dbapi_connection.create_function("lower", 1, _lower, deterministic=True)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


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
    exits anyway, runs it `in_process` and saves starting a second Python (about 0.5 s). A new
    SQLite database needs neither: it is given the newest schema at once (`create_new_sqlite`; the
    dashboard's first start, and its reader, ~1.5 s sooner).
    """
    if current_revision(engine) == head_revision():
        return
    if create_new_sqlite(engine):
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


def create_new_sqlite(engine: Engine) -> bool:
    """A new (empty) SQLite database given the newest schema at once from NEW_SQLITE, what the
    migrations make of an empty database (tests/test_engine_new.py compares them), stamped with its
    revision, in one transaction; False, and nothing done, when the database is not SQLite, not empty,
    or NEW_SQLITE is not of the newest revision. A backfill into a new database saves Alembic's 0.5 s."""
    if engine.dialect.name != "sqlite" or not NEW_SQLITE.is_file():
        return False
    revision, statements = _new_sqlite_script()
    if revision != head_revision():
        return False
    raw = engine.raw_connection()
    connection = raw.driver_connection
    assert connection is not None  # a pool connection, checked out: open
    raw.detach()  # closed after, not pooled: its autocommit setting must not reach the engine's transactions
    try:
        connection.isolation_level = None  # DDL inside our own transaction: all of it or nothing
        cursor = connection.cursor()
        cursor.execute("BEGIN IMMEDIATE")
        if cursor.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
            cursor.execute("ROLLBACK")
            return False
        for statement in statements:
            cursor.execute(statement)
        cursor.execute("INSERT INTO alembic_version (version_num) VALUES (?)", (revision,))
        cursor.execute("COMMIT")
    finally:
        raw.close()
    return True


def new_sqlite_script(connection: Any) -> str:
    """NEW_SQLITE's text for a database the migrations brought to `revision`: its revision, then the
    statements of its sqlite_master in their order (`python -m gaze.engine --new-sqlite-script URL`)."""
    rows = connection.execute(text("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid")).all()
    revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return f"-- revision {revision}\n" + "".join(f"{row[0]};\n\n" for row in rows)


def _new_sqlite_script() -> tuple[str, list[str]]:
    head, _, body = NEW_SQLITE.read_text(encoding="utf-8").partition("\n")
    return head.removeprefix("-- revision "), [s.strip() for s in body.split(";\n\n") if s.strip()]


def write_lock(conn: Connection, key: int, table: str) -> None:
    """Hold a write lock to the end of the transaction, taken first so that what the transaction
    reads stays true until it commits: on PostgreSQL the advisory lock `key` (one per kind of
    writer), on SQLite the database's write lock, by a write that changes nothing in `table` (this
    also opens the transaction, and SQLite never has to upgrade a stale read transaction)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})
    else:
        conn.execute(text(f"DELETE FROM {table} WHERE 0 = 1"))


def execute_many(conn: Connection, stmt: Any, rows: list[dict[str, Any]]) -> None:
    """`conn.execute(stmt, rows)` for an INSERT of many rows that all name the same columns. On SQLite
    the rows go to the driver's executemany as tuples: SQLAlchemy's own per-row parameter work is
    most of the cost of a big batch (backfill). Only when nothing is left for SQLAlchemy to add: no
    Python-side default for a column the rows leave out, no type that converts its values."""
    if conn.dialect.name == "sqlite" and rows:
        compiled: Any = stmt.compile(dialect=conn.dialect, column_keys=list(rows[0]))
        names = compiled.positiontup
        plain = not compiled.insert_prefetch and all(
            bind.type.bind_processor(conn.dialect) is None for bind in compiled.binds.values()
        )
        if plain and names is not None and set(names) == set(rows[0]):
            conn.exec_driver_sql(compiled.string, [tuple(row[name] for name in names) for row in rows])
            return
    conn.execute(stmt, rows)


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
    if sys.argv[1:2] == ["--new-sqlite-script"]:  # NEW_SQLITE's text, from a database the migrations made
        with make_engine(sys.argv[2]).connect() as conn:
            sys.stdout.write(new_sqlite_script(conn))
    else:
        _upgrade(os.environ[MIGRATE_URL_VARIABLE])
