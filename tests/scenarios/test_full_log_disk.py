"""A full log disk never leaves part of a line in the plain files (issue 18 item 5, DESIGN §4).

cdn-auto copies `modulegaze-sessions.log` whenever it likes and uploads every line it finds, so a
write that fails half-way (no space left) must not leave a truncated record behind: the file is
cut back to its last whole line and the rest is written, once, when space returns.

A real 256 KiB tmpfs is the log disk (`mount -t tmpfs` needs root; without it the tests skip, or
fail under MODULEGAZE_REQUIRE_SERVICES=1).
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from gaze.journal import JournalEntry
from gaze.logs.files import DailyLog, LogDirError
from gaze.logs.format import SESSIONS_STEM, format_session_line
from tests.conftest import require
from tests.recorderkit import (
    ACCESS_LOG,
    SESSIONS_LOG,
    T0,
    access_messages,
    all_sessions,
    batches,
    entry,
    expected_log,
    live_rows,
    make_settings,
    module_messages,
    new_monitor,
    open_engine,
)

pytestmark = pytest.mark.usefixtures("clean_env")

DISK_SIZE = "256k"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 256 KiB tmpfs mounted on a fresh folder (unmounted afterwards)."""
    where = tmp_path / "disk"
    where.mkdir()
    mount, umount = shutil.which("mount"), shutil.which("umount")
    reason = "mount/umount not found"
    if mount and umount:
        done = subprocess.run(
            [mount, "-t", "tmpfs", "-o", f"size={DISK_SIZE},mode=0755", "tmpfs", str(where)],
            capture_output=True,
            text=True,
            check=False,
        )
        reason = " ".join(done.stderr.split()) or f"exit status {done.returncode}"
        mounted = done.returncode == 0
    else:
        mounted = False
    require(mounted, f"a {DISK_SIZE} tmpfs to fill (mount -t tmpfs needs root): {reason}")
    assert umount is not None
    try:
        yield where
    finally:
        subprocess.run([umount, "-l", str(where)], check=False)


def fill(disk: Path) -> Path:
    """Take every free block of `disk` with one file; return it (remove it to free the space)."""
    filler = disk / "filler"
    with open(filler, "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 4096)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc
    return filler


def whole_lines(path: Path) -> bool:
    """What a reader copying the file now gets holds whole lines only."""
    data = path.read_bytes() if path.exists() else b""
    return data == b"" or data.endswith(b"\n")


def busy_room(n: int) -> list[JournalEntry]:
    """50 devices, each switching module at every visit: nearly every entry closes a session, so
    both files grow by kilobytes a batch (a classroom day closes a few records per hundred lines)."""
    return [entry(f"192.168.1.{10 + k % 50}", T0 + k * 1000, f"cdn_m{k // 50 % 7}") for k in range(n)]


async def test_full_disk_leaves_whole_lines_then_writes_each_line_once(small_disk: Path) -> None:
    entries = busy_room(600)
    settings = make_settings(small_disk.parent, "run", tee_access_log=True, log_dir=small_disk / "logs")
    engine = open_engine(settings)
    monitor = await new_monitor(settings, engine)
    for batch in batches(entries[:200], 100):
        await monitor.record(batch)
    assert monitor.sessions_log.status.ok and monitor.access_log.status.ok
    files = [settings.log_dir / SESSIONS_LOG, settings.log_dir / ACCESS_LOG]
    assert all(f.stat().st_size for f in files)

    filler = fill(small_disk)
    for batch in batches(entries[200:500], 50):
        await monitor.record(batch)
        assert [f.name for f in files if not whole_lines(f)] == [], "part of a line while the disk is full"
        await monitor.tick()  # the retry while still full leaves whole lines too
        assert [f.name for f in files if not whole_lines(f)] == []
    for writer in (monitor.sessions_log, monitor.access_log):
        assert not writer.status.ok and "No space left on device" in writer.status.detail
    assert all_sessions(settings.log_dir) == expected_log(live_rows(engine))[: len(all_sessions(settings.log_dir))]

    filler.unlink()
    await monitor.tick()
    assert monitor.sessions_log.status.ok and monitor.access_log.status.ok
    assert all_sessions(settings.log_dir) == expected_log(live_rows(engine))
    assert access_messages(settings.log_dir) == module_messages(entries[:500])

    for batch in batches(entries[500:], 50):
        await monitor.record(batch)
    assert all_sessions(settings.log_dir) == expected_log(live_rows(engine))
    assert access_messages(settings.log_dir) == module_messages(entries)


def lines(n: int, start: int = 0) -> bytes:
    return "".join(
        format_session_line(T0 + i * 1000, f"learner{i}", "192.168.1.20", "cdn_math", 60) for i in range(start, n)
    ).encode()


def test_completing_a_record_on_a_full_disk_keeps_only_whole_lines(small_disk: Path) -> None:
    """A record a crash left half-written is completed after start-up (`reconcile`); when the disk is
    full then, the file is cut back to the last whole line of it, and completed once space returns."""
    day = date(2026, 5, 4)
    log = DailyLog(small_disk, SESSIONS_STEM, today=lambda: day)
    first = lines(3)
    log.append(first, day)
    record = lines(2000, start=3)  # ~190 KiB: more than the free space left below
    offset = log.prepare(day)
    with log.path.open("ab") as f:  # the crash: part of the record, ending inside a line
        f.write(record[:1000])
    assert not whole_lines(log.path)

    filler = fill(small_disk)
    os.truncate(filler, filler.stat().st_size - 64 * 1024)  # room for part of the record, not all of it
    with pytest.raises(LogDirError, match="No space left on device"):
        log.reconcile(offset, record)
    data = log.path.read_bytes()
    assert data.endswith(b"\n") and data.startswith(first)
    assert record.startswith(data[offset:]) and len(data) - offset > 1000  # lines that got in stay

    filler.unlink()
    log.reconcile(offset, record)
    assert log.path.read_bytes() == first + record
