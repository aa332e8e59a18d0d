"""The daily zip archives of the log files — DESIGN §4: "the zip is complete and fsynced before the
plain file is removed; nothing is ever lost to a failed rotation".

`write_archive` puts a plain file into its day's archive: under a temporary name, fsynced, renamed
into place. An archive of that day already there is merged (its content first); one that already
ends with the plain file's content (a rotation that crashed before removing the plain file) is
kept as it is; an unreadable one is moved aside, never deleted. gaze.logs.files removes the plain
file afterwards; `prune_archives` removes the archives older than the retention.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import time
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import BinaryIO

__all__ = ["fsync_dir", "one_line", "prune_archives", "write_archive"]

log = logging.getLogger(__name__)

_CHUNK = 1024 * 1024


def one_line(exc: OSError) -> str:
    """An OSError in one line: what went wrong and on which file."""
    text = exc.strerror or str(exc) or type(exc).__name__
    if exc.filename is not None:
        text = f"{text}: {exc.filename}"
    return " ".join(str(text).split())


def fsync_dir(directory: Path) -> None:
    """Make the directory's entries (a created, renamed or removed file) durable."""
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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


def _quarantine(zip_path: Path, reason: object) -> None:
    """Move an unreadable archive aside (never delete it) so a fresh one can take its name."""
    aside = zip_path.with_name(f"{zip_path.name}.unreadable-{time.strftime('%Y%m%dT%H%M%S')}")
    n = 1
    while aside.exists():
        n += 1
        aside = aside.with_name(f"{zip_path.name}.unreadable-{time.strftime('%Y%m%dT%H%M%S')}-{n}")
    log.error("archive %s is unreadable (%s); keeping it as %s", zip_path, reason, aside.name)
    os.rename(zip_path, aside)


def _open_old_archive(zip_path: Path, stack: contextlib.ExitStack) -> zipfile.ZipFile | None:
    """The existing, verified archive of that day, or None (an unreadable one is moved aside)."""
    try:
        zf = stack.enter_context(zipfile.ZipFile(zip_path))
    except FileNotFoundError:
        return None
    except (zipfile.BadZipFile, EOFError) as exc:
        _quarantine(zip_path, exc)
        return None
    try:
        bad = zf.testzip()
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
        bad = str(exc)
    if bad is not None:
        zf.close()
        _quarantine(zip_path, f"bad member {bad}")
        return None
    return zf


def write_archive(plain_path: Path, zip_path: Path, member: str) -> bool:
    """Archive the plain file as `member` of `zip_path`, crash-safe; False when there is no plain file.

    When it returns True, the archive holds the plain file's content, durably: the caller may remove it."""
    tmp_path = zip_path.with_name(f".{zip_path.name}.tmp")
    with contextlib.ExitStack() as stack:
        try:
            plain = stack.enter_context(open(plain_path, "rb"))
        except FileNotFoundError:
            return False
        plain_size = os.fstat(plain.fileno()).st_size
        old = _open_old_archive(zip_path, stack)
        old_size = 0
        if old is not None:
            old_size = sum(i.file_size for i in old.infolist() if not i.is_dir())
            # A rotation that crashed after renaming the zip into place but before removing the
            # plain file: the archive already ends with exactly this content.
            if old_size >= plain_size and _tail_equals(_iter_members(old), old_size - plain_size, plain):
                log.info("%s already holds %s; removing the plain file", zip_path.name, plain_path.name)
                return True
            plain.seek(0)
            log.info("merging %s into the existing %s", plain_path.name, zip_path.name)
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
    fsync_dir(zip_path.parent)
    return True


def prune_archives(
    directory: Path, patterns: Sequence[re.Pattern[str]], limit: date, retention_days: int
) -> list[Path]:
    """Remove the archives in `directory` whose name matches one of `patterns` with a date (group 1)
    before `limit`; return them. A missing directory has none; OSError when it cannot be listed."""
    removed: list[Path] = []
    try:
        with os.scandir(directory) as it:
            names = sorted(entry.name for entry in it)
    except (FileNotFoundError, NotADirectoryError):
        return removed
    for name in names:
        match = next((m for pattern in patterns if (m := pattern.fullmatch(name))), None)
        if not match:
            continue
        if match.group(1) is None:  # an `mf-*` name that does not start with a date
            continue
        try:
            archived = date.fromisoformat(match.group(1))
        except ValueError:
            continue
        if archived >= limit:
            continue
        path = directory / name
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        except OSError as exc:
            log.warning("cannot remove old archive %s: %s", path, one_line(exc))
            continue
        log.info("removed %s (older than %d days)", name, retention_days)
        removed.append(path)
    return removed
