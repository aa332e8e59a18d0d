"""`python main.py import-logs DIR`: load session log files into the database (source "import").

Reads `modulegaze-sessions.log` and the daily archives `modulegaze-sessions-YYYY-MM-DD.log.zip`
(every member) — ours, or the old Next.js app's, which wrote the same line format (DESIGN §4):
`<ISO end>\\tuserId=<user>|<ip>\\tmoduleId=<module>\\tdurationSeconds=<n>[\\tschemaVersion=1]`,
and named a second archive of one day `modulegaze-sessions-YYYY-MM-DD-<epochMs>.log.zip`. Its
oldest versions wrote one `mf-*.zip` (or `.tar.gz`) per session holding `modulefetch.json`
(`recordedAt`, `userId`, `moduleId`, `durationSeconds`): read as the same record.
CRLF line ends and blank lines are accepted; other lines that do not parse are counted as malformed
and skipped. start = end − duration. Records go through gaze.records.add_records, which skips the
ones already stored, so importing the same files again adds nothing.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import tarfile
import time
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from gaze.logs.format import MF_FILE, SESSION_LOG_FILE, clean_field
from gaze.sessions import SessionRecord

if TYPE_CHECKING:  # the database's side is loaded by import_logs: backfill's logged_keys needs none of it
    from sqlalchemy import Engine

BATCH = 5000
REASON = "import"  # why the session ended is not in the log line
MF_MEMBER = "modulefetch.json"
_DURATION_RE = re.compile(r"\d{1,12}(?:\.\d*)?")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


@dataclass
class ImportSummary:
    files: int = 0
    lines: int = 0  # non-blank lines
    added: int = 0
    duplicates: int = 0
    malformed: int = 0
    unreadable: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0
    latest_end_ms: int | None = None  # the end of the latest record read (None: no record)

    def lines_out(self) -> list[str]:
        out = [
            f"files read:          {self.files:,}",
            f"lines read:          {self.lines:,}",
            f"records added:       {self.added:,}",
            f"duplicates skipped:  {self.duplicates:,}",
            f"malformed lines:     {self.malformed:,}",
            f"elapsed:             {self.elapsed_s:.2f} s",
        ]
        out += [f"unreadable file:     {name}" for name in self.unreadable]
        return out


def parse_session_line(line: str) -> SessionRecord | None:
    """One session log line (without its line end) as a record, or None when it is malformed."""
    fields = line.split("\t")
    if len(fields) < 4:
        return None
    try:
        end = datetime.fromisoformat(fields[0].strip())
    except ValueError:
        return None
    if end.tzinfo is None:
        end = end.replace(tzinfo=UTC)
    values: dict[str, str] = {}
    for item in fields[1:]:
        name, sep, value = item.partition("=")
        if not sep or name in values:
            return None
        values[name] = value
    if values.get("schemaVersion", "1") != "1":
        return None
    identity, module, duration = values.get("userId"), values.get("moduleId"), values.get("durationSeconds")
    if identity is None or not module or duration is None or not _DURATION_RE.fullmatch(duration):
        return None
    user, sep, ip = identity.rpartition("|")
    if not sep or not user or not ip:
        return None
    end_ms = (end - _EPOCH) // _MS
    seconds = int(float(duration))
    return SessionRecord(ip, user, module, end_ms - seconds * 1000, end_ms, REASON)


def log_files(directory: Path) -> list[Path]:
    """The session log files of `directory`: upstream's `mf-*` files, archives by date, the plain file."""
    found = [
        p
        for p in directory.iterdir()
        if (SESSION_LOG_FILE.fullmatch(p.name) or MF_FILE.fullmatch(p.name)) and p.is_file()
    ]

    def order(path: Path) -> tuple[str, int, int, str]:
        match = SESSION_LOG_FILE.fullmatch(path.name)
        if match is None:  # mf-<recordedAt>-<random>
            return ("", 0, 0, path.name)
        return (match.group(1) or "9999-99-99", int(match.group(2) or 0), 0 if match.group(3) else 1, path.name)

    return sorted(found, key=order)


def _mf_line(data: bytes) -> bytes:
    """The session line an upstream `modulefetch.json` stands for (malformed JSON gives a malformed line)."""
    try:
        payload = json.loads(data)
        fields = (payload["recordedAt"], payload["userId"], payload["moduleId"], payload["durationSeconds"])
    except (ValueError, TypeError, KeyError):
        return b"?"
    if not all(isinstance(f, str | int | float) for f in fields):
        return b"?"
    at, user, module, seconds = (str(f) for f in fields)
    return f"{at}\tuserId={user}\tmoduleId={module}\tdurationSeconds={seconds}".encode()


def _mf_lines(path: Path) -> Iterator[bytes]:
    if path.name.endswith(".zip"):
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if info.filename.rsplit("/", 1)[-1] == MF_MEMBER:
                    yield _mf_line(archive.read(info))
        return
    with tarfile.open(path, "r:gz") as archive:
        for member in archive.getmembers():
            if member.isfile() and member.name.rsplit("/", 1)[-1] == MF_MEMBER:
                handle = archive.extractfile(member)
                if handle is not None:
                    yield _mf_line(handle.read())


def _lines(path: Path) -> Iterator[bytes]:
    if MF_FILE.fullmatch(path.name):
        yield from _mf_lines(path)
    elif path.name.endswith(".zip"):
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if not info.is_dir():
                    with archive.open(info) as member:
                        yield from member
    else:
        with path.open("rb") as plain:
            yield from plain


def _records(lines: Iterable[bytes], summary: ImportSummary) -> Iterator[SessionRecord]:
    for raw in lines:
        raw = raw.rstrip(b"\r\n")
        if not raw.strip():
            continue
        summary.lines += 1
        try:
            record = parse_session_line(raw.decode("utf-8"))
        except UnicodeDecodeError:
            record = None
        if record is None:
            summary.malformed += 1
        else:
            if summary.latest_end_ms is None or record.end_ms > summary.latest_end_ms:
                summary.latest_end_ms = record.end_ms
            yield record


def import_logs(engine: Engine, directory: Path, *, batch: int = BATCH, stderr: TextIO = sys.stderr) -> ImportSummary:
    """Import every session log file of `directory` (blocking); one transaction per `batch` records."""
    from sqlalchemy.orm import Session

    from gaze.db import IMPORT
    from gaze.records import add_records

    started = time.monotonic()
    summary = ImportSummary()
    pending: list[SessionRecord] = []

    def flush() -> None:
        if pending:
            with Session(engine) as db, db.begin():
                added = add_records(db, pending, IMPORT)
            summary.added += added
            summary.duplicates += len(pending) - added
            pending.clear()

    for path in log_files(directory):
        try:
            for record in _records(_lines(path), summary):
                pending.append(record)
                if len(pending) >= batch:
                    flush()
        except (OSError, zipfile.BadZipFile, tarfile.TarError, EOFError) as exc:
            stderr.write(f"import-logs: cannot read {path.name}: {exc}\n")
            summary.unreadable.append(path.name)
            continue
        summary.files += 1
    flush()
    summary.elapsed_s = time.monotonic() - started
    return summary


def record_key(end_ms: int, user: str, ip: str, module: str, duration_s: int) -> bytes:
    """A compact identity of one record (16 bytes) as its log line states it (fields normalised)."""
    text = f"{end_ms}\t{clean_field(user)}\t{clean_field(ip)}\t{clean_field(module)}\t{int(duration_s)}"
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def logged_keys(directory: Path) -> set[bytes]:
    """The `record_key` of every record the session log files of `directory` already hold (plain
    file and archives, ours and upstream's): what backfill must not write again. Raises OSError when
    one of them cannot be read (then nobody can tell what it holds)."""
    keys: set[bytes] = set()
    if not directory.is_dir():
        return keys
    summary = ImportSummary()
    for path in log_files(directory):
        try:
            for r in _records(_lines(path), summary):
                keys.add(record_key(r.end_ms, r.user, r.ip, r.module, r.duration_s))
        except (zipfile.BadZipFile, tarfile.TarError, EOFError) as exc:
            raise OSError(f"cannot read {path}: {exc}") from None
    return keys
