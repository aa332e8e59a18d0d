"""Our own database on SQLite and on the real PostgreSQL server: migrations and the live checkpoint
cycle (DESIGN §1: SQLite by default, PostgreSQL when configured; backfill: tests/test_backfill.py)."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.orm import Session

from gaze.checkpoint import CHECKPOINT
from gaze.db import LIVE, MIGRATIONS, Checkpoint, LogWriterRow, RecordRow, make_engine, migrate
from gaze.recorder import Recorder
from tests.recorderkit import (
    SCENE,
    SCENE_ROWS,
    SESSIONS_LOG,
    all_sessions,
    batches,
    classroom,
    expected_log,
    live_rows,
    make_settings,
    open_engine,
)

CORE_TABLES = {"checkpoint", "session_record", "log_writer", "alembic_version"}


pytestmark = pytest.mark.usefixtures("clean_env")


def test_migrate_creates_the_schema_and_is_repeatable(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        migrate(engine)
        tables = set(inspect(engine).get_table_names())
        assert tables >= CORE_TABLES
        with engine.connect() as conn:
            head = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        migrate(engine)  # a second start-up: nothing to do, nothing lost
        with engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == head
        assert set(inspect(engine).get_table_names()) == tables
        columns = {c["name"] for c in inspect(engine).get_columns("session_record")}
        assert columns >= {"id", "end_ms", "start_ms", "user_id", "ip", "module", "duration_s", "reason", "source"}
        if engine.dialect.name == "postgresql":
            with engine.connect() as conn:  # the tables live in the test's own schema
                schema = conn.execute(text("SELECT current_schema()")).scalar_one()
            assert schema.startswith("gaze_test_")
            assert set(inspect(engine).get_table_names(schema=schema)) == tables
    finally:
        engine.dispose()


def test_migrations_run_only_their_own_frozen_code() -> None:
    """A migration must not change when the application's code does: no revision imports gaze."""
    revisions = sorted((MIGRATIONS / "versions").glob("0*.py"))
    assert len(revisions) >= 7
    for path in revisions:
        imported: list[str] = []
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                imported.append(node.module or "")
        assert not [name for name in imported if name.split(".")[0] == "gaze"], path.name


def test_large_values_round_trip(engine: Engine) -> None:
    """Epoch-ms BIGINTs, long module names, binary intents."""
    big = 4_102_444_800_000  # 2100-01-01
    with Session(engine) as db, db.begin():
        db.add(
            RecordRow(
                end_ms=big,
                start_ms=big - 1,
                user_id="ü" * 200,
                ip="::1",
                module="m" * 1000,
                duration_s=0,
                reason="idle",
            )
        )
        db.add(LogWriterRow(stem="x", written_upto=big, intent_data=bytes(range(256)) * 10, intent_offset=big))
    with Session(engine) as db:
        row = db.scalars(select(RecordRow)).one()
        assert (row.end_ms, row.user_id, len(row.module), row.source) == (big, "ü" * 200, 1000, LIVE)
        writer = db.get(LogWriterRow, "x")
        assert writer is not None and writer.intent_data == bytes(range(256)) * 10 and writer.intent_offset == big


async def test_monitor_persist_restore_cycle(engine: Engine, db_url: str, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, database_url=db_url)
    monitor = Recorder(settings, engine)
    monitor.restore()
    assert monitor.cursor is None and len(monitor.store) == 0
    await monitor.record(SCENE[:5])
    await monitor.record(SCENE[5:])
    assert live_rows(engine) == SCENE_ROWS
    log_file = settings.log_dir / SESSIONS_LOG
    assert log_file.read_text() == expected_log(SCENE_ROWS)

    again = Recorder(settings, engine)
    again.restore()
    assert again.cursor == SCENE[-1].cursor
    assert again.store.clock_ms == monitor.store.clock_ms
    assert [(s.ip, s.user, s.module, s.start_ms, s.last_ms) for s in again.store.sessions()] == [
        (s.ip, s.user, s.module, s.start_ms, s.last_ms) for s in monitor.store.sessions()
    ]
    assert log_file.read_text() == expected_log(SCENE_ROWS)
    with Session(engine) as db:
        row = db.get(Checkpoint, CHECKPOINT)
        assert row is not None and json.loads(row.state)["clock"] == SCENE[-1].realtime_ms


async def test_live_run_resumed_matches_uninterrupted(engine: Engine, db_url: str, tmp_path: Path) -> None:
    entries = classroom(seed=21, n=1500)
    reference = make_settings(tmp_path, "reference")
    ref_engine = open_engine(reference)
    ref = Recorder(reference, ref_engine)
    ref.restore()
    for batch in batches(entries, 250):
        await ref.record(batch)

    settings = make_settings(tmp_path, "resumed", database_url=db_url)
    for part in (entries[:600], entries[600:]):
        monitor = Recorder(settings, engine)
        monitor.restore()
        for batch in batches(part, 250):
            await monitor.record(batch)
    assert live_rows(engine) == live_rows(ref_engine)
    assert len(live_rows(engine)) > 10
    assert all_sessions(settings.log_dir) == all_sessions(reference.log_dir)
    ref_engine.dispose()
