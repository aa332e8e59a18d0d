"""gaze.logs.archives (through DailyLog): daily zip rotation, merging, crash recovery, retention."""

from __future__ import annotations

import stat
import zipfile
from datetime import date, timedelta
from pathlib import Path

import pytest

from gaze.logs.files import DailyLog, LogDirError
from gaze.logs.format import ACCESS_STEM, SESSIONS_STEM, format_access_line
from tests.logskit import D1, D2, Clock, archive_name, line, ms, read_archive, write_archive

pytestmark = pytest.mark.usefixtures("local_tz")


def test_day_change_during_writing_archives_previous_day(dlog: DailyLog, logdir: Path, clock: Clock) -> None:
    a = line("2026-05-04T10:00:00.000Z")
    b = line("2026-05-04T21:59:59.999Z")  # 23:59:59.999 local
    c = line("2026-05-04T22:00:00.000Z")  # 00:00 local on May 5
    dlog.append(a, D1)
    dlog.append(b, D1)
    clock.day = D2
    assert dlog.append(c, D2) == 0  # fresh plain file
    assert dlog.path.read_bytes() == c
    assert dlog.file_day() == D2
    zip_path = logdir / "modulegaze-sessions-2026-05-04.log.zip"
    assert zip_path.exists()
    assert read_archive(zip_path) == (["modulegaze-sessions-2026-05-04.log"], a + b)
    assert sorted(p.name for p in logdir.iterdir()) == [zip_path.name, "modulegaze-sessions.log"]


def test_access_stem_archive_names(tmp_path: Path) -> None:
    acc = DailyLog(tmp_path, ACCESS_STEM, today=Clock(D2))
    data = format_access_line(ms("2026-05-04T12:00:00.000Z"), "GET /modules/x").encode()
    acc.append(data, D1)
    acc.append(format_access_line(ms("2026-05-05T12:00:00.000Z"), "GET /modules/y").encode(), D2)
    assert read_archive(tmp_path / "modulegaze-access-2026-05-04.log.zip") == (
        ["modulegaze-access-2026-05-04.log"],
        data,
    )


def test_rotate_due_at_midnight(dlog: DailyLog, logdir: Path, clock: Clock) -> None:
    assert dlog.rotate_due() is None  # no file at all
    a = line("2026-05-04T21:00:00.000Z")
    dlog.append(a, D1)
    assert dlog.rotate_due() is None  # still the same day
    assert dlog.path.exists()
    clock.day = D2  # midnight
    zip_path = dlog.rotate_due()
    assert zip_path == logdir / "modulegaze-sessions-2026-05-04.log.zip"
    assert not dlog.path.exists()
    assert dlog.file_day() is None
    assert read_archive(zip_path) == (["modulegaze-sessions-2026-05-04.log"], a)
    assert dlog.rotate_due() is None
    b = line("2026-05-05T06:00:00.000Z")
    assert dlog.append(b, D2) == 0
    assert dlog.path.read_bytes() == b
    assert read_archive(zip_path)[1] == a


def test_rotate_due_after_downtime_uses_the_file_day(dlog: DailyLog, logdir: Path, clock: Clock) -> None:
    a = line("2026-05-04T09:00:00.000Z")
    dlog.append(a, D1)
    clock.day = date(2026, 5, 9)
    assert dlog.rotate_due() == logdir / "modulegaze-sessions-2026-05-04.log.zip"
    assert read_archive(logdir / "modulegaze-sessions-2026-05-04.log.zip")[1] == a


def test_crash_between_zip_and_unlink_does_not_duplicate(dlog: DailyLog, logdir: Path, clock: Clock) -> None:
    a = line("2026-05-03T10:00:00.000Z")
    b = line("2026-05-04T10:00:00.000Z")
    logdir.mkdir()
    zip_path = logdir / "modulegaze-sessions-2026-05-04.log.zip"
    # A late write merged earlier content, then the rotation of the plain file renamed the zip
    # into place and crashed before the unlink.
    write_archive(zip_path, archive_name(D1), a + b)
    dlog.path.write_bytes(b)
    clock.day = D2
    assert dlog.rotate_due() == zip_path
    assert not dlog.path.exists()
    assert read_archive(zip_path) == ([archive_name(D1)], a + b)


def test_crash_between_zip_and_unlink_then_next_day_append(dlog: DailyLog, logdir: Path) -> None:
    a = line("2026-05-04T10:00:00.000Z")
    c = line("2026-05-05T10:00:00.000Z")
    logdir.mkdir()
    zip_path = logdir / "modulegaze-sessions-2026-05-04.log.zip"
    write_archive(zip_path, archive_name(D1), a)
    dlog.path.write_bytes(a)
    assert dlog.append(c, D2) == 0
    assert read_archive(zip_path) == ([archive_name(D1)], a)
    assert dlog.path.read_bytes() == c


def test_existing_archive_for_that_day_is_merged(dlog: DailyLog, logdir: Path, clock: Clock) -> None:
    a = line("2026-05-04T10:00:00.000Z")
    late = line("2026-05-04T21:59:00.000Z")
    c = line("2026-05-05T10:00:00.000Z")
    dlog.append(a, D1)
    clock.day = D2
    zip_path = dlog.rotate_due()
    assert zip_path is not None
    # A late write for May 4 after midnight lands in a new plain file of May 4 ...
    dlog.append(late, D1)
    assert dlog.file_day() == D1
    # ... which is archived into the same zip, appended, at the next write of May 5.
    assert dlog.append(c, D2) == 0
    assert read_archive(zip_path) == ([archive_name(D1)], a + late)
    assert dlog.path.read_bytes() == c


def test_merge_when_archive_and_plain_overlap_only_partly(dlog: DailyLog, logdir: Path, clock: Clock) -> None:
    a = line("2026-05-04T10:00:00.000Z")
    b = line("2026-05-04T11:00:00.000Z")
    logdir.mkdir()
    zip_path = logdir / "modulegaze-sessions-2026-05-04.log.zip"
    write_archive(zip_path, archive_name(D1), a)
    dlog.path.write_bytes(b)
    clock.day = D2
    dlog.rotate_due()
    assert read_archive(zip_path)[1] == a + b  # nothing lost


def test_leftover_temp_file_from_a_crash_is_cleaned(dlog: DailyLog, logdir: Path, clock: Clock) -> None:
    a = line("2026-05-04T10:00:00.000Z")
    dlog.append(a, D1)
    leftover = logdir / ".modulegaze-sessions-2026-05-04.log.zip.tmp"
    other_leftover = logdir / ".modulegaze-sessions-2026-05-01.log.zip.tmp"
    leftover.write_bytes(b"PK\x03\x04half a zip")
    other_leftover.write_bytes(b"PK")
    unrelated = logdir / ".modulegaze-access-2026-05-01.log.zip.tmp"
    unrelated.write_bytes(b"PK")
    clock.day = D2
    zip_path = dlog.rotate_due()
    assert zip_path is not None
    assert read_archive(zip_path) == ([archive_name(D1)], a)
    assert not leftover.exists()
    assert not other_leftover.exists()
    assert unrelated.exists()  # another stem's business


def test_failed_rotation_loses_nothing_and_can_be_retried(dlog: DailyLog, logdir: Path, clock: Clock) -> None:
    a = line("2026-05-04T10:00:00.000Z")
    c = line("2026-05-05T10:00:00.000Z")
    dlog.append(a, D1)
    # Something the rotation cannot remove or write blocks the temp name.
    blocker = logdir / ".modulegaze-sessions-2026-05-04.log.zip.tmp"
    blocker.mkdir()
    (blocker / "x").write_bytes(b"")
    clock.day = D2
    with pytest.raises(LogDirError, match=r"^log directory .* is not writable: cannot archive"):
        dlog.append(c, D2)
    assert dlog.path.read_bytes() == a
    assert not (logdir / "modulegaze-sessions-2026-05-04.log.zip").exists()
    (blocker / "x").unlink()
    blocker.rmdir()
    assert dlog.append(c, D2) == 0
    assert read_archive(logdir / "modulegaze-sessions-2026-05-04.log.zip")[1] == a
    assert dlog.path.read_bytes() == c


def test_unreadable_archive_is_kept_aside(dlog: DailyLog, logdir: Path, clock: Clock) -> None:
    a = line("2026-05-04T10:00:00.000Z")
    logdir.mkdir()
    zip_path = logdir / "modulegaze-sessions-2026-05-04.log.zip"
    zip_path.write_bytes(b"not a zip at all")
    dlog.path.write_bytes(a)
    clock.day = D2
    assert dlog.rotate_due() == zip_path
    assert read_archive(zip_path)[1] == a
    aside = [p for p in logdir.iterdir() if p.name.startswith(zip_path.name + ".unreadable-")]
    assert len(aside) == 1
    assert aside[0].read_bytes() == b"not a zip at all"


def test_archive_is_a_regular_readable_file(dlog: DailyLog, logdir: Path, clock: Clock) -> None:
    dlog.append(line("2026-05-04T10:00:00.000Z"), D1)
    clock.day = D2
    zip_path = dlog.rotate_due()
    assert zip_path is not None
    assert stat.S_ISREG(zip_path.stat().st_mode)
    with zipfile.ZipFile(zip_path) as zf:
        assert zf.testzip() is None


def test_prune_removes_only_archives_older_than_the_limit(tmp_path: Path) -> None:
    today = date(2026, 5, 10)
    dl = DailyLog(tmp_path, SESSIONS_STEM, retention_days=3, today=Clock(today))
    names = {
        day: tmp_path / f"modulegaze-sessions-{day.isoformat()}.log.zip"
        for day in (today - timedelta(days=n) for n in range(1, 7))
    }
    for p in names.values():
        write_archive(p, p.stem, b"x\n")
    others = [
        tmp_path / "modulegaze-access-2026-01-01.log.zip",  # another stem
        tmp_path / "modulegaze-sessions-2026-01-01.log.zip.unreadable-20260101T000000",
        tmp_path / "modulegaze-sessions-2026-13-01.log.zip",  # not a date
        tmp_path / "modulegaze-sessions.log",
    ]
    for p in others:
        p.write_bytes(b"")
    removed = dl.prune()
    limit = today - timedelta(days=3)
    assert sorted(removed) == sorted(p for d, p in names.items() if d < limit)
    assert len(removed) == 3
    for d, p in names.items():
        assert p.exists() == (d >= limit)
    assert all(p.exists() for p in others)
    assert dl.prune() == []


def test_rotation_prunes(tmp_path: Path) -> None:
    clock = Clock(D1)
    dl = DailyLog(tmp_path, SESSIONS_STEM, retention_days=30, today=clock)
    old = tmp_path / "modulegaze-sessions-2026-03-01.log.zip"
    recent = tmp_path / "modulegaze-sessions-2026-04-20.log.zip"
    write_archive(old, old.stem, b"x\n")
    write_archive(recent, recent.stem, b"y\n")
    dl.append(line("2026-05-04T10:00:00.000Z"), D1)
    assert old.exists()
    clock.day = D2
    dl.append(line("2026-05-05T10:00:00.000Z"), D2)
    assert not old.exists()
    assert recent.exists()
    assert (tmp_path / "modulegaze-sessions-2026-05-04.log.zip").exists()


def test_prune_missing_directory(tmp_path: Path) -> None:
    assert DailyLog(tmp_path / "nope", SESSIONS_STEM, today=Clock(D1)).prune() == []
