"""Backfill on SQLite and on the real PostgreSQL server: journal export in, records and their session
log out, never through the live log writer."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from gaze.backfill import BackfillOptions, run_backfill
from gaze.db import BACKFILL, LIVE, Checkpoint, RecordRow
from gaze.recorder import Recorder
from tests.recorderkit import SCENE, SCENE_ROWS, SESSIONS_LOG, all_sessions, classroom, expected_log, make_settings

pytestmark = pytest.mark.usefixtures("clean_env")


@pytest.mark.slow
def test_backfill_inserts_records(engine: Engine, tmp_path: Path) -> None:
    entries = classroom(seed=2, n=1200)
    source = tmp_path / "journal.json"
    source.write_text(
        "".join(
            json.dumps({"__CURSOR": e.cursor, "__REALTIME_TIMESTAMP": str(e.realtime_us), "MESSAGE": e.message}) + "\n"
            for e in entries
        )
    )
    options = BackfillOptions(log_dir=tmp_path / "logs", input=str(source))
    summary = run_backfill(options, engine, stderr=io.StringIO())
    assert summary.entries == len(entries)
    with Session(engine) as db:
        rows = db.scalars(select(RecordRow).order_by(RecordRow.id)).all()
        assert db.scalars(select(Checkpoint)).all() == []
    assert len(rows) == summary.records > 10
    assert {r.source for r in rows} == {BACKFILL}
    assert expected_log(
        [(r.start_ms, r.end_ms, r.user_id, r.ip, r.module, r.duration_s, r.reason, r.source) for r in rows]
    ) == all_sessions(tmp_path / "logs")


@pytest.mark.slow
async def test_backfill_records_stay_out_of_the_live_log(engine: Engine, db_url: str, tmp_path: Path) -> None:
    """Backfill rows never reach the live log writer: a monitor on the same database writes only its own."""
    source = tmp_path / "journal.json"
    source.write_text(
        "".join(
            json.dumps({"__CURSOR": e.cursor, "__REALTIME_TIMESTAMP": str(e.realtime_us), "MESSAGE": e.message}) + "\n"
            for e in SCENE
        )
    )
    summary = run_backfill(BackfillOptions(log_dir=tmp_path / "backfill-logs", input=str(source)), engine)
    assert summary.records == 3  # the open sessions at the end are 0 s long, not recorded
    settings = make_settings(tmp_path, database_url=db_url)
    monitor = Recorder(settings, engine)
    monitor.restore()
    assert not (settings.log_dir / SESSIONS_LOG).exists()
    await monitor.record(SCENE)
    assert (settings.log_dir / SESSIONS_LOG).read_text() == expected_log(SCENE_ROWS)
    with Session(engine) as db:
        sources = [r.source for r in db.scalars(select(RecordRow).order_by(RecordRow.id))]
    assert sources == [BACKFILL] * 3 + [LIVE] * 3
