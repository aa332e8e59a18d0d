"""`python main.py import-logs DIR`: plain and zipped session logs (ours and the old app's), malformed
lines, idempotence, and the command's exit codes — on real SQLite files and PostgreSQL."""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from gaze import history
from gaze.db import IMPORT, LIVE, RecordRow, make_engine
from gaze.logs.format import format_session_line
from gaze.logs.importer import import_logs, log_files, parse_session_line
from gaze.records import add_records
from gaze.sessions import SessionRecord
from tests.conftest import ROOT, foreign_environ

T0 = int(datetime(2026, 5, 4, 14, 30, tzinfo=UTC).timestamp() * 1000)
DAY = 86_400_000
A, B = "192.168.1.20", "192.168.1.21"


def write_zip(path: Path, member: str, data: bytes) -> None:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(member, data)


def stored(engine: Engine) -> list[tuple[int, int, str, str, str, int, str]]:
    with Session(engine) as db:
        return [
            (r.start_ms, r.end_ms, r.user_id, r.ip, r.module, r.duration_s, r.source)
            for r in db.scalars(select(RecordRow).order_by(RecordRow.end_ms, RecordRow.id))
        ]


def log_dir(tmp_path: Path) -> Path:
    """Two archives (ours; the old app's with CRLF, no schemaVersion, blank and broken lines) and a plain file."""
    logs = tmp_path / "logs"
    logs.mkdir()
    ours = format_session_line(T0 - DAY, "Guest", A, "cdn_math", 90) + format_session_line(
        T0 - DAY + 5_000, "ama|x", B, "cdn_bio", 40
    )
    write_zip(logs / "modulegaze-sessions-2026-05-03.log.zip", "modulegaze-sessions-2026-05-03.log", ours.encode())
    old_app = (
        "2026-05-02T08:00:00.000Z\tuserId=Guest|192.168.1.20\tmoduleId=health\tdurationSeconds=300\r\n"
        "\r\n"
        "2026-05-02T08:10:00Z\tuserId=Kọ́fí|192.168.1.21\tmoduleId=cdn_art\tdurationSeconds=61\tschemaVersion=1\r\n"
        "not a session line\r\n"
        "2026-05-02T08:20:00.000Z\tuserId=Guest\tmoduleId=health\tdurationSeconds=3\r\n"  # no ip
        "2026-05-02T08:30:00.000Z\tuserId=Guest|192.168.1.20\tmoduleId=health\tdurationSeconds=-4\r\n"
        "2026-05-02T08:40:00.000Z\tuserId=Guest|192.168.1.20\tmoduleId=health\tdurationSeconds=5\tschemaVersion=2\r\n"
        "2026-13-02T08:50:00.000Z\tuserId=Guest|192.168.1.20\tmoduleId=health\tdurationSeconds=5\r\n"
    ).encode() + b"2026-05-02T09:00:00.000Z\tuserId=\xff|192.168.1.20\tmoduleId=health\tdurationSeconds=5\r\n"
    write_zip(logs / "modulegaze-sessions-2026-05-02.log.zip", "modulegaze-sessions-2026-05-02.log", old_app)
    plain = (
        format_session_line(T0, "Guest", A, "cdn_physics", 30)
        + "\n"
        + format_session_line(T0 + 1, "Guest", B, 'm,"q"', 7)
    )
    (logs / "modulegaze-sessions.log").write_text(plain, encoding="utf-8")
    (logs / "modulegaze-access.log").write_text("not ours\n")
    (logs / "notes.txt").write_text("ignored\n")
    return logs


def test_parse_session_line() -> None:
    line = format_session_line(T0, "Guest", "::1", "cdn_math", 90).rstrip("\n")
    assert parse_session_line(line) == SessionRecord("::1", "Guest", "cdn_math", T0 - 90_000, T0, "import")
    assert parse_session_line(line.replace("\tschemaVersion=1", "")) is not None
    assert parse_session_line("2026-05-04T14:30:00+02:00\tuserId=a|b|10.0.0.1\tmoduleId=m\tdurationSeconds=2") == (
        SessionRecord("10.0.0.1", "a|b", "m", T0 - 2 * 3_600_000 - 2000, T0 - 2 * 3_600_000, "import")
    )
    for bad in ["", "x", line.replace("moduleId=", "module="), line.replace("=90", "=ninety"), line + "\tuserId=x|y"]:
        assert parse_session_line(bad) is None


def test_import_reads_zips_and_plain_file_and_is_idempotent(engine: Engine, tmp_path: Path) -> None:
    logs = log_dir(tmp_path)
    assert [p.name for p in log_files(logs)] == [
        "modulegaze-sessions-2026-05-02.log.zip",
        "modulegaze-sessions-2026-05-03.log.zip",
        "modulegaze-sessions.log",
    ]
    first = import_logs(engine, logs, batch=2)
    assert (first.files, first.lines, first.added, first.duplicates, first.malformed) == (3, 12, 6, 0, 6)
    t = int(datetime(2026, 5, 2, 8, tzinfo=UTC).timestamp() * 1000)
    assert stored(engine) == [
        (t - 300_000, t, "Guest", A, "health", 300, IMPORT),
        (t + 600_000 - 61_000, t + 600_000, "Kọ́fí", B, "cdn_art", 61, IMPORT),
        (T0 - DAY - 90_000, T0 - DAY, "Guest", A, "cdn_math", 90, IMPORT),
        (T0 - DAY + 5_000 - 40_000, T0 - DAY + 5_000, "ama|x", B, "cdn_bio", 40, IMPORT),
        (T0 - 30_000, T0, "Guest", A, "cdn_physics", 30, IMPORT),
        (T0 + 1 - 7_000, T0 + 1, "Guest", B, 'm,"q"', 7, IMPORT),
    ]
    again = import_logs(engine, logs)
    assert (again.files, again.lines, again.added, again.duplicates, again.malformed) == (3, 12, 0, 6, 6)
    assert len(stored(engine)) == 6
    everything = history.Range(0, 2**62, "all")
    assert history.totals(engine, everything) == history.Totals(300 + 61 + 90 + 40 + 30 + 7, 6, 2, 2)
    assert "\n".join(again.lines_out()).startswith("files read:          3\nlines read:          12\n")


def test_import_skips_what_live_reading_or_an_overlapping_file_has(engine: Engine, tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    day = format_session_line(T0, "Guest", A, "cdn_math", 90) + format_session_line(T0 + 9, "Guest", B, "cdn_bio", 4)
    with Session(engine) as db, db.begin():  # the live monitor stored the first one already
        add_records(db, [SessionRecord(A, "Guest", "cdn_math", T0 - 90_400, T0, "switch")], LIVE)
    (logs / "modulegaze-sessions.log").write_text(day)
    write_zip(logs / "modulegaze-sessions-2026-05-04.log.zip", "modulegaze-sessions-2026-05-04.log", day.encode())
    summary = import_logs(engine, logs)
    assert (summary.lines, summary.added, summary.duplicates) == (4, 1, 3)
    assert [(r[4], r[6]) for r in stored(engine)] == [("cdn_math", LIVE), ("cdn_bio", IMPORT)]


def test_unreadable_archive_is_reported_and_skipped(engine: Engine, tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "modulegaze-sessions-2026-05-01.log.zip").write_bytes(b"PK\x03\x04 truncated")
    (logs / "modulegaze-sessions.log").write_text(format_session_line(T0, "Guest", A, "cdn_math", 90))
    err = io.StringIO()
    summary = import_logs(engine, logs, stderr=err)
    assert (summary.files, summary.added, summary.unreadable) == (1, 1, ["modulegaze-sessions-2026-05-01.log.zip"])
    assert "cannot read modulegaze-sessions-2026-05-01.log.zip" in err.getvalue()


def cli(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = foreign_environ()
    env.update(
        MODULEFETCH_LOG_DIR=str(tmp_path / "var-log"),
        MODULEGAZE_DATA_DIR=str(tmp_path / "data"),
        TZ="UTC",
    )
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "import-logs", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow
def test_cli(tmp_path: Path, db_url: str) -> None:
    logs = log_dir(tmp_path)
    result = cli([str(logs), "--database-url", db_url], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "files read:          3" in result.stdout
    assert "records added:       6" in result.stdout and "malformed lines:     6" in result.stdout
    result = cli([str(logs), "--database-url", db_url], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "records added:       0" in result.stdout and "duplicates skipped:  6" in result.stdout

    missing = cli([str(tmp_path / "nowhere"), "--database-url", db_url], tmp_path)
    assert missing.returncode == 2 and "no such directory" in missing.stderr
    assert cli([], tmp_path).returncode == 2  # DIR is required
    bad_db = cli([str(logs), "--database-url", "postgresql://nobody@127.0.0.1:1/none"], tmp_path)
    assert bad_db.returncode == 2 and "--database-url" in bad_db.stderr


@pytest.mark.slow
def test_cli_default_database(tmp_path: Path) -> None:
    """Without --database-url: MODULEGAZE_DATA_DIR's SQLite file, as every other command."""
    logs = log_dir(tmp_path)
    result = cli([str(logs)], tmp_path)
    assert result.returncode == 0, result.stderr
    engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'gaze.db'}")
    try:
        assert len(stored(engine)) == 6
    finally:
        engine.dispose()
