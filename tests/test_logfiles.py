"""Tests for gaze.logs.files: line formats, appending, daily zip rotation, crash recovery, retention."""

from __future__ import annotations

import logging
import os
import stat
import zipfile
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from gaze.logs.files import DailyLog, LogDirError
from gaze.logs.format import ACCESS_STEM, SESSIONS_STEM, format_access_line, format_session_line, iso_utc_ms
from tests.conftest import timezone

D1 = date(2026, 5, 4)
D2 = date(2026, 5, 5)


def ms(iso: str) -> int:
    """Epoch milliseconds of an ISO timestamp with an offset or Z."""
    dt = datetime.fromisoformat(iso)
    return int(dt.timestamp()) * 1000 + dt.microsecond // 1000


def line(iso: str, module: str = "cdn_math") -> bytes:
    return format_session_line(ms(iso), "anna@example.com", "192.168.1.20", module, 40).encode()


class Clock:
    """A controllable ``today`` callable."""

    def __init__(self, day: date) -> None:
        self.day = day

    def __call__(self) -> date:
        return self.day


def archive_name(day: date, stem: str = SESSIONS_STEM) -> str:
    return f"{stem}-{day.isoformat()}.log"


def read_archive(path: Path) -> tuple[list[str], bytes]:
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in zf.infolist())
        return names, b"".join(zf.read(n) for n in names)


def write_archive(path: Path, member: str, content: bytes) -> None:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(member, content)


@pytest.fixture(autouse=True)
def local_tz() -> Iterator[None]:
    """Run every test in UTC+2 (no DST) so local and UTC dates differ around midnight."""
    with timezone("SAST-2"):
        yield


@pytest.fixture
def clock() -> Clock:
    return Clock(D1)


@pytest.fixture
def logdir(tmp_path: Path) -> Path:
    return tmp_path / "logs"


@pytest.fixture
def dlog(logdir: Path, clock: Clock) -> DailyLog:
    return DailyLog(logdir, SESSIONS_STEM, today=clock)


# ------------------------------------------------------------------------------------------ formats


def test_stems() -> None:
    assert SESSIONS_STEM == "modulegaze-sessions"
    assert ACCESS_STEM == "modulegaze-access"


@pytest.mark.parametrize(
    ("epoch_ms", "expected"),
    [
        (0, "1970-01-01T00:00:00.000Z"),
        (1777905040000, "2026-05-04T14:30:40.000Z"),
        (1777905040001, "2026-05-04T14:30:40.001Z"),
        (1777905040010, "2026-05-04T14:30:40.010Z"),
        (1777905040999, "2026-05-04T14:30:40.999Z"),  # truncated to its own millisecond, never rounded up
        (1777939199999, "2026-05-04T23:59:59.999Z"),
        (1777939200000, "2026-05-05T00:00:00.000Z"),
    ],
)
def test_iso_utc_ms(epoch_ms: int, expected: str) -> None:
    assert iso_utc_ms(epoch_ms) == expected


def test_iso_utc_ms_is_utc_whatever_the_local_zone() -> None:
    assert iso_utc_ms(ms("2026-05-05T01:30:00.250+02:00")) == "2026-05-04T23:30:00.250Z"


def test_format_session_line_exact() -> None:
    got = format_session_line(1777905040000, "anna@example.com", "192.168.1.20", "cdn_math", 40)
    assert got == (
        "2026-05-04T14:30:40.000Z\tuserId=anna@example.com|192.168.1.20\tmoduleId=cdn_math"
        "\tdurationSeconds=40\tschemaVersion=1\n"
    )


def test_format_session_line_replaces_cr_lf_tab_each_with_one_space() -> None:
    got = format_session_line(1777905040123, "an\tna\r\n", "1.2.3.4\n", "m\rod\tule", 0)
    assert got == (
        "2026-05-04T14:30:40.123Z\tuserId=an na  |1.2.3.4 \tmoduleId=m od ule\tdurationSeconds=0\tschemaVersion=1\n"
    )
    fields = got.rstrip("\n").split("\t")
    assert len(fields) == 5
    assert got.count("\n") == 1
    assert "\r" not in got


def test_format_access_line() -> None:
    raw = 'info: 1.2.3.4 user=a - [x] "GET /uploads/modules/1_a/m/index.html HTTP/1.1"\t200\r\n'
    got = format_access_line(1777905040005, raw)
    assert got == (
        '2026-05-04T14:30:40.005Z\tinfo: 1.2.3.4 user=a - [x] "GET /uploads/modules/1_a/m/index.html HTTP/1.1" 200  \n'
    )
    assert got.count("\t") == 1


# ----------------------------------------------------------------------------------------- append


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


# --------------------------------------------------------------------------------------- rotation


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


# -------------------------------------------------------------------------------------- reconcile


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


# --------------------------------------------------------------------------- unusable directory


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


# ------------------------------------------------------------------------------------- retention


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
