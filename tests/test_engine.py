"""gaze.engine: the engine for our own state (SQLite settings, the PostgreSQL driver), the schema's
revision, database errors as one line without a password, and whether the database answers."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from gaze.engine import answers, current_revision, error_text, head_revision, make_engine, migrate


def test_sqlite_engine_makes_its_folder_and_sets_wal_full_sync_and_foreign_keys(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'new' / 'deeper' / 'gaze.db'}")
    try:
        assert (tmp_path / "new" / "deeper").is_dir()
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    finally:
        engine.dispose()


def test_postgresql_urls_use_psycopg_3() -> None:
    engine = make_engine("postgresql://gaze@127.0.0.1:1/gaze")
    try:
        assert engine.url.drivername == "postgresql+psycopg"
    finally:
        engine.dispose()


def test_a_new_database_has_no_revision_then_the_head(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'gaze.db'}")
    try:
        assert current_revision(engine) is None
        migrate(engine, in_process=True)
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_the_migrated_fixture_is_at_the_head(engine: Engine) -> None:
    assert current_revision(engine) == head_revision()
    assert answers(engine)


def test_a_database_that_does_not_answer(tmp_path: Path) -> None:
    engine = make_engine("postgresql://gaze:hunter2@127.0.0.1:1/gaze")  # nothing listens on port 1
    try:
        assert answers(engine) is False
        with pytest.raises(OperationalError) as info, engine.connect():
            pass
        line = error_text(info.value)
        assert "\n" not in line and len(line) <= 200 and "hunter2" not in line
        assert "127.0.0.1" in line  # the driver's words, not SQLAlchemy's wrapper
        assert "sqlalche.me" not in line
    finally:
        engine.dispose()


def test_error_text_of_a_plain_exception() -> None:
    assert error_text(RuntimeError("first line\nsecond line")) == "first line"
    assert error_text(RuntimeError("")) == "RuntimeError"
    assert error_text(RuntimeError("x" * 500)) == "x" * 200
    assert error_text(RuntimeError("postgresql://u:secret@h/d refused")) == "postgresql://u:***@h/d refused"
