"""gaze.logs.writer: each live session record is written to modulegaze-sessions.log exactly once —
across repeated flushes, a crash between the database's intent and the file write, and a log
directory that refuses writes for a while (DESIGN §4)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from gaze.db import IMPORT, LIVE, RecordRow
from gaze.localtime import local_day
from gaze.logs.files import DailyLog
from gaze.logs.format import SESSIONS_STEM
from gaze.logs.writer import ExactlyOnceLog, SessionLogWriter, session_bytes
from gaze.records import add_records
from gaze.sessions import SessionRecord

T = 1_777_905_040_000  # 2026-05-04T14:30:40Z


def _records(n: int, start: int = T) -> list[SessionRecord]:
    return [
        SessionRecord(f"10.0.0.{i + 1}", "Guest", "cdn_math", start + i * 1000 - 60_000, start + i * 1000, "idle")
        for i in range(n)
    ]


def _store(engine: Engine, recs: list[SessionRecord], source: str = LIVE) -> None:
    with Session(engine) as db, db.begin():
        add_records(db, recs, source)


def _live_lines(engine: Engine) -> bytes:
    with Session(engine) as db:
        rows = db.scalars(select(RecordRow).where(RecordRow.source == LIVE).order_by(RecordRow.id)).all()
        return session_bytes(rows)


def _writer(engine: Engine, log_dir: Path) -> SessionLogWriter:
    return SessionLogWriter(engine, DailyLog(log_dir, SESSIONS_STEM, today=lambda: local_day(T)))


def test_flush_writes_each_live_record_once(engine: Engine, tmp_path: Path) -> None:
    writer = _writer(engine, tmp_path / "logs")
    _store(engine, _records(3))
    _store(engine, _records(2, start=T + 10_000), IMPORT)  # imported records are in the files already
    assert writer.flush()
    path = tmp_path / "logs" / "modulegaze-sessions.log"
    written = path.read_bytes()
    assert written == _live_lines(engine) and written.count(b"\n") == 3
    assert writer.flush() and path.read_bytes() == written  # nothing twice
    _store(engine, _records(2, start=T + 20_000))
    assert writer.flush()
    assert path.read_bytes() == _live_lines(engine) and path.read_bytes().count(b"\n") == 5
    assert writer.status.ok and writer.status.waiting == 0


def test_a_write_cut_short_by_a_crash_is_completed_once(engine: Engine, tmp_path: Path) -> None:
    """The intent is committed, half its bytes reach the file, the process dies: at start-up
    `recover()` writes only the missing half."""
    writer = _writer(engine, tmp_path / "logs")
    _store(engine, _records(4))
    data = _live_lines(engine)
    with Session(engine) as db, db.begin():
        assert writer.stage(db, data, local_day(T), upto=4)
    path = tmp_path / "logs" / "modulegaze-sessions.log"
    path.write_bytes(data[: len(data) // 2])  # the crash: part of the write made it
    after_restart = _writer(engine, tmp_path / "logs")
    after_restart.recover()
    assert path.read_bytes() == data
    assert after_restart.flush() and path.read_bytes() == data  # recorded as written: not again


def test_an_unwritable_directory_keeps_the_records_for_later(engine: Engine, tmp_path: Path) -> None:
    log_dir = tmp_path / "logs"
    log_dir.write_text("a file where the folder should be")
    writer = _writer(engine, log_dir)
    _store(engine, _records(3))
    assert not writer.flush()
    assert not writer.status.ok and writer.status.detail and "\n" not in writer.status.detail
    log_dir.unlink()
    _store(engine, _records(1, start=T + 10_000))
    assert writer.flush()
    assert (log_dir / "modulegaze-sessions.log").read_bytes() == _live_lines(engine)
    assert writer.status.ok and writer.status.detail == ""


def test_access_lines_staged_twice_before_a_write_are_written_in_order_once(engine: Engine, tmp_path: Path) -> None:
    """The access tee stages in the caller's transaction; an intent not yet written keeps its bytes in
    front of the next ones."""
    log = ExactlyOnceLog(engine, DailyLog(tmp_path / "logs", "modulegaze-access", today=lambda: local_day(T)))
    with Session(engine) as db, db.begin():
        assert log.stage(db, b"first\n", local_day(T))
    with Session(engine) as db, db.begin():
        assert log.stage(db, b"second\n", local_day(T))
    assert log.complete(local_day(T))
    assert (tmp_path / "logs" / "modulegaze-access.log").read_bytes() == b"first\nsecond\n"
    assert log.complete(local_day(T))
    assert (tmp_path / "logs" / "modulegaze-access.log").read_bytes() == b"first\nsecond\n"
