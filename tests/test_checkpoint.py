"""The live checkpoint (gaze.checkpoint) on SQLite and the real PostgreSQL server: one commit stores
the records, the cursor with the open sessions and the access-log intent together; the file writes
follow it; a refused record is set aside and counted, never holding back the others."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from gaze.checkpoint import CHECKPOINT, Snapshot, commit, load_checkpoint, write_files
from gaze.db import LIVE, RecordRow, SetAsideRow
from gaze.logs import ACCESS_STEM, SESSIONS_STEM, DailyLog, ExactlyOnceLog, SessionLogWriter
from gaze.logs.format import format_session_line
from gaze.sessions import SessionRecord
from gaze.setaside import SetAside

T = 1_777_905_000_000


def writers(engine: Engine, log_dir: Path) -> tuple[ExactlyOnceLog, SessionLogWriter]:
    return (
        ExactlyOnceLog(engine, DailyLog(log_dir, ACCESS_STEM)),
        SessionLogWriter(engine, DailyLog(log_dir, SESSIONS_STEM)),
    )


def test_no_checkpoint_yet(engine: Engine) -> None:
    assert load_checkpoint(engine) == (None, {})
    assert load_checkpoint(engine, "another") == (None, {})


@pytest.mark.usefixtures("utc_tz")
def test_one_commit_then_the_files(engine: Engine, tmp_path: Path) -> None:
    access, sessions = writers(engine, tmp_path / "logs")
    record = SessionRecord("10.0.0.1", "anna", "cdn_math", T, T + 60_000, "idle")
    state: dict[str, object] = {"clock": T + 60_000, "open": [], "dropped": 0}
    snap = Snapshot("s=a;i=7", state, [record], ["2026-05-04T14:31:00.000Z\tinfo: a line\n"], [])
    staged = commit(engine, snap, access, SetAside(), outbox=False, now_ms=123)
    assert staged is True
    assert load_checkpoint(engine) == ("s=a;i=7", state)
    with Session(engine) as db:
        assert [(r.ip, r.source) for r in db.scalars(select(RecordRow))] == [("10.0.0.1", LIVE)]
    assert not (tmp_path / "logs" / f"{ACCESS_STEM}.log").exists()  # the files come after the commit
    write_files(access, sessions, new_records=True)
    assert (tmp_path / "logs" / f"{ACCESS_STEM}.log").read_text() == "2026-05-04T14:31:00.000Z\tinfo: a line\n"
    expected = format_session_line(T + 60_000, "anna", "10.0.0.1", "cdn_math", 60)
    assert (tmp_path / "logs" / f"{SESSIONS_STEM}.log").read_text() == expected


def test_a_commit_without_access_lines_stages_nothing(engine: Engine, tmp_path: Path) -> None:
    access, _ = writers(engine, tmp_path / "logs")
    assert commit(engine, Snapshot("c1", {}, [], [], []), access, SetAside(), outbox=False, now_ms=1) is False
    assert commit(engine, Snapshot("c2", {"x": 1}, [], [], []), access, SetAside(), outbox=False, now_ms=2) is False
    assert load_checkpoint(engine, CHECKPOINT) == ("c2", {"x": 1})  # one row, updated


def test_what_was_set_aside_is_stored_and_counted(engine: Engine, tmp_path: Path) -> None:
    access, _ = writers(engine, tmp_path / "logs")
    aside = SetAside()
    bad = SessionRecord("10.0.0.1", "bad\ud800", "cdn_math", T, T + 1000, "idle")  # text no database stores
    good = SessionRecord("10.0.0.2", "Guest", "cdn_math", T, T + 2000, "idle")
    commit(engine, Snapshot("c", {}, [bad, good], [], []), access, aside, outbox=False, now_ms=1)
    assert aside.count == 1 and aside.last_error
    with Session(engine) as db:
        assert [r.ip for r in db.scalars(select(RecordRow))] == ["10.0.0.2"]
        assert db.scalar(select(func.count()).select_from(SetAsideRow)) == 1
