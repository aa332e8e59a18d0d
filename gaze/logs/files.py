"""The session and access log files: the plain file of the day and its rotation — DESIGN §4.

A :class:`DailyLog` owns one plain file ``<dir>/<stem>.log`` and its daily archives
``<dir>/<stem>-YYYY-MM-DD.log.zip`` (one member ``<stem>-YYYY-MM-DD.log``).  Writes are appended,
flushed and fsynced; a write that fails (disk full) is cut back, so the file only ever holds whole
lines.  Archiving ("rotation", gaze.logs.archives) writes the zip under a temporary name,
fsyncs it, renames it into place and only then is the plain file removed, so a crash at any point
loses nothing.  Archives older than the retention are pruned.  Names and line formats: gaze.logs.format.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

from gaze.localtime import local_day
from gaze.logs.archives import fsync_dir, one_line, prune_archives, write_archive
from gaze.logs.format import MF_FILE, SESSIONS_STEM, archive_re, line_day, member_name

__all__ = ["DailyLog", "LogDirError"]

log = logging.getLogger(__name__)

_CHUNK = 1024 * 1024
# Enough bytes to hold the ISO timestamp at the start of a line ("2026-05-04T14:30:40.000Z").
_HEAD_BYTES = 64


class LogDirError(Exception):
    """The log directory is missing and cannot be created, or cannot be written."""


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


class DailyLog:
    """One plain log file <dir>/<stem>.log plus daily archives <stem>-YYYY-MM-DD.log.zip."""

    def __init__(
        self,
        directory: Path,
        stem: str,
        *,
        retention_days: int = 365,
        today: Callable[[], date] = date.today,
    ) -> None:
        self._directory = Path(directory)
        self._stem = stem
        self._retention_days = retention_days
        self._today = today
        self.path = self._directory / f"{stem}.log"
        # Ours, and upstream's second archive of a day `<stem>-YYYY-MM-DD-<epochMs>.log.zip` (retention).
        self._archive_re = archive_re(stem, upstream=True)
        # Upstream's oldest per-session files, `mf-<recordedAt>-<random>.zip|.tar.gz`: session records.
        self._legacy_re = MF_FILE if stem == SESSIONS_STEM else None
        self._temp_re = re.compile(rf"\.{re.escape(stem)}-\d{{4}}-\d{{2}}-\d{{2}}\.log\.zip\.tmp")
        self._lock = threading.RLock()
        # (st_dev, st_ino, file was empty) of the plain file the cached day was computed for.
        self._day_key: tuple[int, int, bool] | None = None
        self._day: date | None = None

    # ----------------------------------------------------------------- naming

    def _archive_path(self, day: date) -> Path:
        """The zip that holds (or will hold) the plain file of ``day``."""
        return self._directory / f"{self._member_name(day)}.zip"

    def _member_name(self, day: date) -> str:
        return member_name(self._stem, day)

    def _error(self, exc: OSError, what: str = "") -> LogDirError:
        detail = f"{what}: {one_line(exc)}" if what else one_line(exc)
        return LogDirError(f"log directory {self._directory} is not writable: {detail}")

    # ---------------------------------------------------------------- the day

    def _invalidate(self) -> None:
        self._day_key = None
        self._day = None

    def file_day(self) -> date | None:
        """Local date the plain file belongs to, or None when there is no plain file.

        That is the local date of the ISO UTC timestamp at the start of its first line; for an
        empty or unparseable file, the local date of its mtime.
        """
        with self._lock:
            try:
                st = os.stat(self.path)
            except (FileNotFoundError, NotADirectoryError):
                self._invalidate()
                return None
            key = (st.st_dev, st.st_ino, st.st_size == 0)
            if self._day_key == key and self._day is not None:
                return self._day
            day: date | None = None
            if st.st_size:
                try:
                    with open(self.path, "rb") as f:
                        day = line_day(f.read(_HEAD_BYTES))
                except (FileNotFoundError, NotADirectoryError):
                    self._invalidate()
                    return None
            if day is None:
                day = local_day(st.st_mtime_ns // 1_000_000)
            self._day_key, self._day = key, day
            return day

    # ---------------------------------------------------------------- writing

    def _ensure_dir(self) -> None:
        self._directory.mkdir(parents=True, exist_ok=True)

    def _open_append(self) -> tuple[int, bool]:
        """Open the plain file for appending; also return whether it was created just now."""
        flags = os.O_WRONLY | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)
        try:
            return os.open(self.path, flags), False
        except FileNotFoundError:
            return os.open(self.path, flags | os.O_CREAT, 0o644), True

    def _write(self, data: bytes, lines_from: int | None = None) -> int:
        """Append ``data`` durably; return the file size before the write.

        A write that fails (disk full) cuts the file back, so a reader (cdn-auto copying the file)
        only ever sees whole lines: to its size before the write, or, given ``lines_from``, to its
        last whole line after that offset (a caller completing a record there keeps the lines that
        got in whole; it writes the rest later).
        """
        fd, created = self._open_append()
        try:
            offset = os.fstat(fd).st_size
            try:
                _write_all(fd, data)
                os.fsync(fd)
            except OSError:
                self._cut(fd, offset if lines_from is None else lines_from, whole_lines=lines_from is not None)
                raise
        finally:
            os.close(fd)
        if created:
            fsync_dir(self._directory)
        if offset == 0:
            self._invalidate()
        return offset

    def _cut(self, fd: int, size: int, *, whole_lines: bool) -> None:
        """After a failed write: truncate the open plain file to ``size`` bytes or, with
        ``whole_lines``, to the end of its last line after ``size``; durably."""
        try:
            end = os.fstat(fd).st_size
            if whole_lines and end > size:
                with open(self.path, "rb") as f:
                    f.seek(size)
                    size += f.read(end - size).rfind(b"\n") + 1
            if end > size:
                os.ftruncate(fd, size)
                os.fsync(fd)
        except OSError as exc:
            log.warning("%s: cannot cut a partly written line: %s", self.path, one_line(exc))

    def prepare(self, day: date) -> int:
        """Archive the plain file if it belongs to a day before ``day``; return its size now.

        Callers that record a write-ahead intent call this first, so the offset they record is
        the one ``append(data, day)`` will write at.
        """
        with self._lock:
            self._archive_before(day)
            try:
                return self.path.stat().st_size
            except FileNotFoundError:
                return 0
            except OSError as exc:
                raise self._error(exc) from exc

    def append(self, data: bytes, day: date) -> int:
        """Append ``data`` as a line (or lines) of local day ``day``; return the offset it starts at.

        When the plain file belongs to an earlier day, it is archived first.  A line older than
        the file's day is simply appended.  Raises :class:`LogDirError` when the directory is
        missing and cannot be created, or is not writable.
        """
        with self._lock:
            self._archive_before(day)
            try:
                return self._write(data)
            except OSError as exc:
                raise self._error(exc, f"cannot write {self.path.name}") from exc

    def _archive_before(self, day: date) -> None:
        """Create the directory if needed; archive the plain file when it belongs to an earlier day."""
        try:
            self._ensure_dir()
            current = self.file_day()
        except OSError as exc:
            raise self._error(exc) from exc
        if current is not None and current < day:
            self._rotate_or_raise(current)

    def reconcile(self, offset: int, data: bytes) -> None:
        """Make the plain file hold ``data`` at ``offset`` (crash recovery for exactly-once writing).

        - ``data`` is there already: nothing to do;
        - the file ends at ``offset`` with a proper prefix of ``data`` (possibly empty): append the rest;
        - the file is shorter than ``offset``, missing, or holds something else there: append all
          of ``data`` and log a warning.
        Should the write fail, the file is cut back to the last whole line of ``data`` in it (or to
        its size before, when ``data`` was being appended whole): no part of a line is left.
        """
        if not data:
            return
        with self._lock:
            try:
                self._ensure_dir()
                try:
                    with open(self.path, "rb") as f:
                        size = os.fstat(f.fileno()).st_size
                        f.seek(offset)
                        present = f.read(len(data)) if size > offset else b""
                except FileNotFoundError:
                    size, present = 0, b""
                if size >= offset and present == data:
                    return
                lines_from: int | None = None  # on a failed write, cut back to the size before it
                if size < offset:
                    log.warning(
                        "%s is %d bytes, shorter than the recorded offset %d; appending the record again",
                        self.path,
                        size,
                        offset,
                    )
                    missing = data
                elif size - offset == len(present) and data.startswith(present):
                    missing = data[len(present) :]
                    lines_from = offset  # the lines of `data` there stay; a part of one does not
                    if present:
                        log.info("%s: completing a partly written record at offset %d", self.path, offset)
                else:
                    log.warning(
                        "%s holds different content at offset %d; appending the record again",
                        self.path,
                        offset,
                    )
                    missing = data
                self._write(missing, lines_from)
            except OSError as exc:
                raise self._error(exc, f"cannot write {self.path.name}") from exc

    # --------------------------------------------------------------- rotation

    def rotate_due(self) -> Path | None:
        """Archive the plain file if it belongs to a day before ``today()``; return the zip."""
        with self._lock:
            try:
                current = self.file_day()
            except OSError as exc:
                raise self._error(exc) from exc
            if current is None or current >= self._today():
                return None
            return self._rotate_or_raise(current)

    def _rotate_or_raise(self, day: date) -> Path:
        try:
            return self._rotate(day)
        except OSError as exc:
            what = f"cannot archive {self.path.name} as {self._archive_path(day).name}"
            raise self._error(exc, what) from exc

    def _remove_stale_temps(self) -> None:
        with os.scandir(self._directory) as entries:
            for entry in entries:
                if self._temp_re.fullmatch(entry.name):
                    log.warning("removing %s left over from an interrupted rotation", entry.path)
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(entry.path)

    def _rotate(self, day: date) -> Path:
        """Archive the plain file as ``day``; crash-safe, never loses data; prunes afterwards."""
        zip_path = self._archive_path(day)
        self._remove_stale_temps()
        if write_archive(self.path, zip_path, self._member_name(day)):
            self._finish(zip_path)
        else:
            self._invalidate()
        return zip_path

    def _finish(self, zip_path: Path) -> None:
        """The archive is complete and durable: remove the plain file, then prune old archives."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        fsync_dir(self._directory)
        self._invalidate()
        log.info("archived %s as %s", self.path.name, zip_path.name)
        try:
            self.prune()
        except LogDirError as exc:
            log.warning("pruning old archives failed: %s", exc)

    # -------------------------------------------------------------- retention

    def prune(self) -> list[Path]:
        """Remove archives of this stem (ours and upstream's, by the date in their name) dated before
        ``today() - retention_days``; return them."""
        with self._lock:
            limit = self._today() - timedelta(days=self._retention_days)
            patterns = [self._archive_re] + ([self._legacy_re] if self._legacy_re else [])
            try:
                return prune_archives(self._directory, patterns, limit, self._retention_days)
            except OSError as exc:
                raise self._error(exc) from exc
