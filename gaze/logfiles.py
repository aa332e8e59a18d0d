"""Session and access log files with crash-safe daily zip archives (DESIGN.md section 4).

A :class:`DailyLog` owns one plain file ``<dir>/<stem>.log`` and its daily archives
``<dir>/<stem>-YYYY-MM-DD.log.zip`` (one member ``<stem>-YYYY-MM-DD.log``).  Writes are appended,
flushed and fsynced.  Archiving ("rotation") writes the zip under a temporary name, fsyncs it,
renames it into place and only then removes the plain file, so a crash at any point loses nothing.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import threading
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import BinaryIO

__all__ = [
    "ACCESS_STEM",
    "SESSIONS_STEM",
    "DailyLog",
    "LogDirError",
    "clean_field",
    "format_access_line",
    "format_session_line",
    "iso_utc_ms",
]

log = logging.getLogger(__name__)

SESSIONS_STEM = "modulegaze-sessions"
ACCESS_STEM = "modulegaze-access"

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CONTROL_TO_SPACE = str.maketrans({"\r": " ", "\n": " ", "\t": " "})
_CHUNK = 1024 * 1024
_MF_RE = re.compile(r"mf-(\d{4}-\d{2}-\d{2})[^/]*\.(?:zip|tar\.gz)")
# Enough bytes to hold the ISO timestamp at the start of a line ("2026-05-04T14:30:40.000Z").
_HEAD_BYTES = 64


def iso_utc_ms(epoch_ms: int) -> str:
    """Format epoch milliseconds as ISO 8601 UTC with milliseconds and ``Z``.

    >>> iso_utc_ms(1777905040000)
    '2026-05-04T14:30:40.000Z'
    """
    dt = _EPOCH + timedelta(milliseconds=epoch_ms)
    return (
        f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}T{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}"
        f".{dt.microsecond // 1000:03d}Z"
    )


def clean_field(value: str) -> str:
    """Replace each CR, LF and TAB with one space so a value cannot break the line format.

    The one normalisation of identities and module ids (DESIGN §4): the log writers and the
    database insert path (gaze.history.add_records) both apply it, so a record reads the same in
    the files and in the database.
    """
    return value.translate(_CONTROL_TO_SPACE)


def format_session_line(end_ms: int, user: str, ip: str, module: str, duration_s: int) -> str:
    """One line of ``modulegaze-sessions.log`` (TAB-separated, ``\\n``-terminated)."""
    return (
        f"{iso_utc_ms(end_ms)}\tuserId={clean_field(user)}|{clean_field(ip)}\tmoduleId={clean_field(module)}"
        f"\tdurationSeconds={int(duration_s)}\tschemaVersion=1\n"
    )


def format_access_line(now_ms: int, raw: str) -> str:
    """One line of ``modulegaze-access.log``: ``<ISO now>\\t<raw line>\\n``."""
    return f"{iso_utc_ms(now_ms)}\t{clean_field(raw)}\n"


class LogDirError(Exception):
    """The log directory is missing and cannot be created, or cannot be written."""


def _one_line(exc: OSError) -> str:
    text = exc.strerror or str(exc) or type(exc).__name__
    if exc.filename is not None:
        text = f"{text}: {exc.filename}"
    return " ".join(str(text).split())


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def local_day(epoch_ms: int | None) -> date:
    """The local calendar day of an epoch-ms time (None: now)."""
    return _local_date(time.time() if epoch_ms is None else epoch_ms / 1000)


def _local_date(timestamp: float) -> date:
    return datetime.fromtimestamp(timestamp).date()


def _parse_line_day(head: bytes) -> date | None:
    """Local date of the ISO UTC timestamp at the start of ``head``, or None if unparseable."""
    first = head.split(b"\n", 1)[0].split(b"\t", 1)[0].strip()
    try:
        dt = datetime.fromisoformat(first.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    try:
        return _local_date(dt.timestamp())
    except (OverflowError, OSError, ValueError):
        return None


def _iter_members(zf: zipfile.ZipFile) -> Iterator[bytes]:
    """The concatenated content of all members of ``zf`` (normally exactly one), in chunks."""
    for info in zf.infolist():
        if info.is_dir():
            continue
        with zf.open(info) as member:
            while chunk := member.read(_CHUNK):
                yield chunk


def _tail_equals(chunks: Iterator[bytes], skip: int, plain: BinaryIO) -> bool:
    """Whether the bytes of ``chunks`` after the first ``skip`` bytes equal the rest of ``plain``."""
    for chunk in chunks:
        if skip >= len(chunk):
            skip -= len(chunk)
            continue
        piece = chunk[skip:]
        skip = 0
        if plain.read(len(piece)) != piece:
            return False
    return plain.read(1) == b""


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
        self._archive_re = re.compile(rf"{re.escape(stem)}-(\d{{4}}-\d{{2}}-\d{{2}})(?:-\d{{1,15}})?\.log\.zip")
        # Upstream's oldest per-session files, `mf-<recordedAt>-<random>.zip|.tar.gz`: session records.
        self._legacy_re = _MF_RE if stem == SESSIONS_STEM else None
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
        return f"{self._stem}-{day.isoformat()}.log"

    def _error(self, exc: OSError, what: str = "") -> LogDirError:
        detail = f"{what}: {_one_line(exc)}" if what else _one_line(exc)
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
                        day = _parse_line_day(f.read(_HEAD_BYTES))
                except (FileNotFoundError, NotADirectoryError):
                    self._invalidate()
                    return None
            if day is None:
                day = _local_date(st.st_mtime)
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

    def _write(self, data: bytes) -> int:
        """Append ``data`` durably; return the file size before the write."""
        fd, created = self._open_append()
        try:
            offset = os.fstat(fd).st_size
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        if created:
            _fsync_dir(self._directory)
        if offset == 0:
            self._invalidate()
        return offset

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
                    if present:
                        log.info("%s: completing a partly written record at offset %d", self.path, offset)
                else:
                    log.warning(
                        "%s holds different content at offset %d; appending the record again",
                        self.path,
                        offset,
                    )
                    missing = data
                self._write(missing)
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

    def _quarantine(self, zip_path: Path, reason: object) -> None:
        """Move an unreadable archive aside (never delete it) so a fresh one can take its name."""
        aside = zip_path.with_name(f"{zip_path.name}.unreadable-{time.strftime('%Y%m%dT%H%M%S')}")
        n = 1
        while aside.exists():
            n += 1
            aside = aside.with_name(f"{zip_path.name}.unreadable-{time.strftime('%Y%m%dT%H%M%S')}-{n}")
        log.error("archive %s is unreadable (%s); keeping it as %s", zip_path, reason, aside.name)
        os.rename(zip_path, aside)

    def _open_old_archive(self, zip_path: Path, stack: contextlib.ExitStack) -> zipfile.ZipFile | None:
        """The existing, verified archive of that day, or None (an unreadable one is moved aside)."""
        try:
            zf = stack.enter_context(zipfile.ZipFile(zip_path))
        except FileNotFoundError:
            return None
        except (zipfile.BadZipFile, EOFError) as exc:
            self._quarantine(zip_path, exc)
            return None
        try:
            bad = zf.testzip()
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
            bad = str(exc)
        if bad is not None:
            zf.close()
            self._quarantine(zip_path, f"bad member {bad}")
            return None
        return zf

    def _rotate(self, day: date) -> Path:
        """Archive the plain file as ``day``; crash-safe, never loses data; prunes afterwards."""
        zip_path = self._archive_path(day)
        member = self._member_name(day)
        tmp_path = self._directory / f".{zip_path.name}.tmp"
        self._remove_stale_temps()
        with contextlib.ExitStack() as stack:
            try:
                plain = stack.enter_context(open(self.path, "rb"))
            except FileNotFoundError:
                self._invalidate()
                return zip_path
            plain_size = os.fstat(plain.fileno()).st_size
            old = self._open_old_archive(zip_path, stack)
            old_size = 0
            if old is not None:
                old_size = sum(i.file_size for i in old.infolist() if not i.is_dir())
                # A rotation that crashed after renaming the zip into place but before removing the
                # plain file: the archive already ends with exactly this content.
                if old_size >= plain_size and _tail_equals(_iter_members(old), old_size - plain_size, plain):
                    log.info("%s already holds %s; removing the plain file", zip_path.name, self.path.name)
                    self._finish(zip_path)
                    return zip_path
                plain.seek(0)
                log.info("merging %s into the existing %s", self.path.name, zip_path.name)
            with open(tmp_path, "wb") as raw:
                with zipfile.ZipFile(raw, "w", compression=zipfile.ZIP_DEFLATED) as out:
                    info = zipfile.ZipInfo(member, date_time=time.localtime()[:6])
                    info.compress_type = zipfile.ZIP_DEFLATED
                    info.external_attr = 0o644 << 16
                    big = old_size + plain_size >= zipfile.ZIP64_LIMIT
                    with out.open(info, "w", force_zip64=big) as dst:
                        if old is not None:
                            for chunk in _iter_members(old):
                                dst.write(chunk)
                        shutil.copyfileobj(plain, dst, _CHUNK)
                raw.flush()
                os.fsync(raw.fileno())
        os.replace(tmp_path, zip_path)
        _fsync_dir(self._directory)
        self._finish(zip_path)
        return zip_path

    def _finish(self, zip_path: Path) -> None:
        """The archive is complete and durable: remove the plain file, then prune old archives."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        _fsync_dir(self._directory)
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
            removed: list[Path] = []
            try:
                with os.scandir(self._directory) as it:
                    names = sorted(entry.name for entry in it)
            except (FileNotFoundError, NotADirectoryError):
                return removed
            except OSError as exc:
                raise self._error(exc) from exc
            for name in names:
                match = self._archive_re.fullmatch(name) or (self._legacy_re and self._legacy_re.fullmatch(name))
                if not match:
                    continue
                try:
                    archived = date.fromisoformat(match.group(1))
                except ValueError:
                    continue
                if archived >= limit:
                    continue
                path = self._directory / name
                try:
                    path.unlink()
                except FileNotFoundError:
                    continue
                except OSError as exc:
                    log.warning("cannot remove old archive %s: %s", path, _one_line(exc))
                    continue
                log.info("removed %s (older than %d days)", name, self._retention_days)
                removed.append(path)
            return removed
