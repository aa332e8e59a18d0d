"""A new SQLite database made at once from gaze/new_sqlite.sql (`create_new_sqlite`, what `migrate`
does for one-shot commands such as backfill) is the database Alembic's migrations make: the same
sqlite_master, statement for statement and in the same order, the same rows, the same revision."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text

from gaze.engine import NEW_SQLITE, _upgrade, create_new_sqlite, head_revision, make_engine, migrate, new_sqlite_script


def schema_and_rows(
    path: Path,
) -> tuple[list[tuple[str, str, str, str | None]], dict[str, list[tuple[object, ...]]], int]:
    """Everything a database holds but its page layout: sqlite_master in order, every table's rows, user_version."""
    with sqlite3.connect(path) as conn:
        master = conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY rowid").fetchall()
        tables = [name for kind, name, _, _ in master if kind == "table"]
        rows = {name: sorted(conn.execute(f'SELECT * FROM "{name}"').fetchall(), key=repr) for name in tables}
        version = conn.execute("PRAGMA user_version").fetchone()[0]
    return master, rows, version


def alembic_database(path: Path) -> Path:
    _upgrade(f"sqlite:///{path}")
    return path


def test_new_database_from_the_script_is_the_one_the_migrations_make(tmp_path: Path) -> None:
    by_alembic = schema_and_rows(alembic_database(tmp_path / "alembic.db"))
    engine = make_engine(f"sqlite:///{tmp_path / 'new.db'}")
    try:
        assert create_new_sqlite(engine)
    finally:
        engine.dispose()
    by_script = schema_and_rows(tmp_path / "new.db")
    assert by_script == by_alembic
    assert by_script[1]["alembic_version"] == [(head_revision(),)]


def test_the_script_is_of_the_newest_migrations(tmp_path: Path) -> None:
    """After a new migration: `python -m gaze.engine --new-sqlite-script sqlite:///DB > gaze/new_sqlite.sql`
    with DB a database the migrations made."""
    engine = make_engine(f"sqlite:///{alembic_database(tmp_path / 'alembic.db')}")
    try:
        with engine.connect() as conn:
            assert new_sqlite_script(conn) == NEW_SQLITE.read_text(encoding="utf-8")
    finally:
        engine.dispose()


def test_one_shot_migrate_of_a_new_database_uses_the_script(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'gaze.db'}")
    try:
        migrate(engine, in_process=True)
    finally:
        engine.dispose()
    assert schema_and_rows(tmp_path / "gaze.db") == schema_and_rows(alembic_database(tmp_path / "alembic.db"))


def test_a_database_with_anything_in_it_is_left_to_alembic(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'gaze.db'}")
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE other (x INTEGER)"))
        assert not create_new_sqlite(engine)
        with engine.connect() as conn:
            names = conn.execute(text("SELECT name FROM sqlite_master")).scalars().all()
        assert names == ["other"]
    finally:
        engine.dispose()


def test_the_engine_keeps_its_transactions_after_making_a_new_database(tmp_path: Path) -> None:
    """The connection that made the schema (in autocommit, to hold one transaction of its own) is not
    given back to the engine: a transaction rolled back after it leaves nothing."""
    engine = make_engine(f"sqlite:///{tmp_path / 'gaze.db'}")
    try:
        migrate(engine, in_process=True)
        with pytest.raises(RuntimeError), engine.begin() as conn:
            conn.execute(text("INSERT INTO checkpoint (name, state, updated_ms) VALUES ('x', '{}', 1)"))
            raise RuntimeError("rolled back")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM checkpoint")).scalar() == 0
    finally:
        engine.dispose()
