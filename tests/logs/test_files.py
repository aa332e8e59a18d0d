"""gaze.logs.files: appending to the day's file, the file's day, crash reconciling, an unusable directory."""

from __future__ import annotations

import logging
import os
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from gaze.logs.files import DailyLog, LogDirError
from gaze.logs.format import SESSIONS_STEM
from tests.logskit import D1, D2, Clock, line

pytestmark = pytest.mark.usefixtures("local_tz")


def test_append_creates_directory_and_returns_offsets(dlog: DailyLog, logdir: Path) -> None:
    a = line("2026-05-04T10:00:00.000Z")
    b = line("2026-05-04T11:00:00.000Z", "cdn_algebra")
    assert not logdir.exists()
    assert dlog.path == logdir / "modulegaze-sessions.log"
    assert dlog.file_day() is None
    assert dlog.append(a, D1) == 0
    assert dlog.append(b, D1) == len(a)
    assert dlog.append(b"", D1) == len(a) + len(b)
    assert dlog.path.read_bytes() == a + b
    assert dlog.file_day() == D1
    assert list(logdir.iterdir()) == [dlog.path]


def test_file_day_uses_local_date_of_first_timestamp(dlog: DailyLog) -> None:
    # 23:30 UTC on May 4 is 01:30 on May 5 in UTC+2.
    dlog.append(line("2026-05-04T23:30:00.000Z"), D2)
    assert dlog.file_day() == D2


def test_file_day_of_empty_or_unparseable_file_is_its_mtime(dlog: DailyLog, logdir: Path) -> None:
    logdir.mkdir()
    dlog.path.write_bytes(b"")
    t = datetime(2026, 5, 3, 23, 0, tzinfo=UTC).timestamp()  # May 4, 01:00 local
    os.utime(dlog.path, (t, t))
    assert dlog.file_day() == D1
    dlog.path.write_bytes(b"garbage without a timestamp\n")
    t2 = datetime(2026, 4, 30, 12, 0, tzinfo=UTC).timestamp()
    os.utime(dlog.path, (t2, t2))
    assert dlog.file_day() == date(2026, 4, 30)


def test_line_older_than_the_file_day_is_simply_appended(dlog: DailyLog, logdir: Path) -> None:
    a = line("2026-05-05T08:00:00.000Z")
    late = line("2026-05-04T20:00:00.000Z")
    dlog.append(a, D2)
    assert dlog.append(late, D1) == len(a)
    assert dlog.path.read_bytes() == a + late
    assert sorted(p.name for p in logdir.iterdir()) == ["modulegaze-sessions.log"]


def test_reconcile_complete_record_is_left_alone(dlog: DailyLog, caplog: pytest.LogCaptureFixture) -> None:
    a = line("2026-05-04T10:00:00.000Z")
    b = line("2026-05-04T11:00:00.000Z")
    dlog.append(a, D1)
    off = dlog.append(b, D1)
    with caplog.at_level(logging.WARNING, logger="gaze.logs.files"):
        dlog.reconcile(off, b)
        dlog.reconcile(0, a)  # an earlier record, followed by more data
    assert dlog.path.read_bytes() == a + b
    assert not caplog.records


def test_reconcile_partial_write_appends_the_rest(dlog: DailyLog, caplog: pytest.LogCaptureFixture) -> None:
    a = line("2026-05-04T10:00:00.000Z")
    b = line("2026-05-04T11:00:00.000Z")
    dlog.append(a, D1)
    with dlog.path.open("ab") as f:
        f.write(b[:17])  # the crash tore the write
    with caplog.at_level(logging.WARNING, logger="gaze.logs.files"):
        dlog.reconcile(len(a), b)
    assert dlog.path.read_bytes() == a + b
    assert not caplog.records


def test_reconcile_write_never_happened(dlog: DailyLog) -> None:
    a = line("2026-05-04T10:00:00.000Z")
    b = line("2026-05-04T11:00:00.000Z")
    dlog.append(a, D1)
    dlog.reconcile(len(a), b)
    assert dlog.path.read_bytes() == a + b


def test_reconcile_missing_file(dlog: DailyLog, logdir: Path, caplog: pytest.LogCaptureFixture) -> None:
    b = line("2026-05-04T11:00:00.000Z")
    with caplog.at_level(logging.WARNING, logger="gaze.logs.files"):
        dlog.reconcile(500, b)
    assert dlog.path.read_bytes() == b
    assert any("shorter than the recorded offset" in r.getMessage() for r in caplog.records)
    dlog.path.unlink()
    dlog.reconcile(0, b)
    assert dlog.path.read_bytes() == b


def test_reconcile_file_shorter_than_offset(dlog: DailyLog, caplog: pytest.LogCaptureFixture) -> None:
    a = line("2026-05-04T10:00:00.000Z")
    b = line("2026-05-04T11:00:00.000Z")
    dlog.append(a, D1)
    with caplog.at_level(logging.WARNING, logger="gaze.logs.files"):
        dlog.reconcile(len(a) + 10, b)
    assert dlog.path.read_bytes() == a + b
    assert [r.levelno for r in caplog.records] == [logging.WARNING]


def test_reconcile_different_content(dlog: DailyLog, caplog: pytest.LogCaptureFixture) -> None:
    a = line("2026-05-04T10:00:00.000Z")
    b = line("2026-05-04T11:00:00.000Z")
    other = line("2026-05-04T12:00:00.000Z", "other")
    dlog.append(a, D1)
    dlog.append(other, D1)
    with caplog.at_level(logging.WARNING, logger="gaze.logs.files"):
        dlog.reconcile(len(a), b)
    assert dlog.path.read_bytes() == a + other + b
    assert any("different content" in r.getMessage() for r in caplog.records)


def test_reconcile_differing_partial_tail(dlog: DailyLog) -> None:
    a = line("2026-05-04T10:00:00.000Z")
    b = line("2026-05-04T11:00:00.000Z")
    dlog.append(a, D1)
    with dlog.path.open("ab") as f:
        f.write(b"XYZ")  # shorter than b but not a prefix of it
    dlog.reconcile(len(a), b)
    assert dlog.path.read_bytes() == a + b"XYZ" + b


def _is_root() -> bool:
    return os.geteuid() == 0


def test_log_dir_is_a_regular_file(tmp_path: Path) -> None:
    target = tmp_path / "logs"
    target.write_text("oops")
    dl = DailyLog(target, SESSIONS_STEM, today=Clock(D1))
    a = line("2026-05-04T10:00:00.000Z")
    with pytest.raises(LogDirError) as err:
        dl.append(a, D1)
    msg = str(err.value)
    assert msg.startswith(f"log directory {target} is not writable: ")
    assert "\n" not in msg
    assert not isinstance(err.value, OSError)
    with pytest.raises(LogDirError):
        dl.reconcile(0, a)
    # The administrator fixes it; the same append now works.
    target.unlink()
    assert dl.append(a, D1) == 0
    assert dl.path.read_bytes() == a


def test_log_dir_whose_parent_is_a_file(tmp_path: Path) -> None:
    parent = tmp_path / "var"
    parent.write_text("not a directory")
    target = parent / "log" / "modulegaze"
    dl = DailyLog(target, SESSIONS_STEM, today=Clock(D1))
    a = line("2026-05-04T10:00:00.000Z")
    assert dl.file_day() is None
    assert dl.prune() == []
    with pytest.raises(LogDirError, match=rf"^log directory {target} is not writable: "):
        dl.append(a, D1)
    parent.unlink()
    assert dl.append(a, D1) == 0
    assert dl.path.read_bytes() == a


def test_read_only_directory(tmp_path: Path) -> None:
    target = tmp_path / "ro"
    target.mkdir()
    target.chmod(0o555)
    probe = target / "probe"
    try:
        probe.write_bytes(b"")
        root_bypasses_permissions = True
        probe.unlink()
    except PermissionError:
        root_bypasses_permissions = False
    dl = DailyLog(target, SESSIONS_STEM, today=Clock(D1))
    a = line("2026-05-04T10:00:00.000Z")
    try:
        if root_bypasses_permissions:
            assert _is_root()
            # Root ignores the mode bits: make the log file's own path unusable instead.
            dl.path.mkdir()
        with pytest.raises(LogDirError, match=rf"^log directory {target} is not writable: "):
            dl.append(a, D1)
    finally:
        if root_bypasses_permissions:
            dl.path.rmdir()
        target.chmod(0o755)
    assert dl.append(a, D1) == 0
    assert dl.path.read_bytes() == a
