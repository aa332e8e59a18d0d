"""`python main.py backfill`: rebuild session records from past journal entries.

Reads `journalctl -o json` output, short-iso text, or the journal itself, through the same Ingestor
as live reading, so the records and their order are the ones live reading writes. Never touches the
live checkpoint; records go to the log files and to the `session_record` table as source "backfill".

A record line is written once, ever (DESIGN §4): before writing, backfill reads the records the
session log files of the log directory already hold (plain file and archives, ours and upstream's)
and leaves those out of the files, so running it again — with or without a database — adds no line.
The database side skips records already stored (gaze.records.add_records).

A record the database refuses (or whose text is not UTF-8) is set aside as live reading does
(gaze.setaside: the `set_aside` table, counted in the summary) and left out of the files too, so the
files and the database agree; each chunk is stored in the database before its lines are written.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from io import BufferedIOBase
from pathlib import Path
from typing import IO, TextIO

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from gaze import setaside
from gaze.backfill_report import Progress, Summary
from gaze.db import BACKFILL
from gaze.ingest import MALFORMED, Ingestor
from gaze.journal_export import export_entries
from gaze.journalctl import JournalEntry, JournalSource, iter_text
from gaze.localtime import local_day
from gaze.logs import SESSIONS_STEM, DailyLog, format_session_line
from gaze.logs.importer import logged_keys, record_key
from gaze.sessions import SessionRecord, SessionStore
from gaze.setaside import SetAside

CHUNK = 1 << 20
PIPE_BYTES = 1 << 20  # journalctl's pipe (Linux default 64 KiB; 1 MiB is the unprivileged maximum)
FLUSH_EVERY = 5000  # records per write/commit


@dataclass
class BackfillOptions:
    log_dir: Path
    input: str | None = None  # a file path, "-" for stdin, or None to read the journal
    format: str = "json"  # json | text
    since: str | None = None
    until: str | None = None
    source: JournalSource = field(default_factory=JournalSource)
    idle_timeout_s: int = 300
    max_sessions: int = 20_000
    include_loopback: bool = False
    retention_days: int = 365
    outbox: bool = False  # queue the new records for the uplink (DESIGN §8)


class _Sink:
    """Writes records in the order the store closed them: log file by local day (leaving out the
    records the files hold already), database in chunks."""

    def __init__(
        self, log: DailyLog, engine: Callable[[], Engine | None], logged: set[bytes], outbox: bool = False
    ) -> None:
        self.log = log
        self.engine = engine  # waits for the database being opened
        self.logged = logged
        self.outbox = outbox
        self.count = 0
        self.in_files = 0  # records left out of the files: they were there already
        self.aside = SetAside()  # what could not be stored: in neither the files nor the database

    def write(self, records: list[SessionRecord]) -> None:
        """Store a chunk in the database (what it refuses is set aside), then write its lines."""
        if not records and not self.aside.pending:
            return
        engine = self.engine()  # ready before anything is written
        if engine is not None:
            with Session(engine) as db, db.begin():
                records = setaside.add_records_or_set_aside(db, records, BACKFILL, aside=self.aside, outbox=self.outbox)
                dropped = setaside.store(db, self.aside.pending)
            self.aside.pending.clear()
            self.aside.dropped += dropped
        else:
            records = self.aside.screen(records)
            self.aside.pending.clear()
        self.count += len(records)
        day: date | None = None
        chunk: list[str] = []
        for record in records:
            key = record_key(record.end_ms, record.user, record.ip, record.module, record.duration_s)
            if key in self.logged:
                self.in_files += 1
                continue
            self.logged.add(key)
            record_day = local_day(record.end_ms)
            if day is not None and record_day != day:
                self.log.append("".join(chunk).encode(), day)
                chunk = []
            day = record_day
            chunk.append(format_session_line(record.end_ms, record.user, record.ip, record.module, record.duration_s))
        if chunk and day is not None:
            self.log.append("".join(chunk).encode(), day)

    def entry(self, entry: JournalEntry, exc: Exception) -> None:
        """An entry the pipeline raised on: set aside (stored with the next chunk), as live reading does."""
        self.aside.add_entry(entry, exc)


def _buffered(stream: IO[bytes], what: str) -> BufferedIOBase:
    """`stream` as the buffered reader it is (its read1 returns what is there now, without waiting)."""
    if not isinstance(stream, BufferedIOBase):
        raise TypeError(f"{what} is not a buffered byte stream ({type(stream).__name__})")
    return stream


def _read(stream: BufferedIOBase, counter: list[int]) -> bytes:
    """What is there now (journalctl keeps writing while we parse), counted."""
    chunk = stream.read1(CHUNK)
    counter[0] += len(chunk)
    return chunk


def _lines(stream: BufferedIOBase, counter: list[int]) -> Iterator[bytes]:
    """Complete lines of a byte stream (text or JSON input), read in large chunks."""
    rest = b""
    while True:
        chunk = _read(stream, counter)
        if not chunk:
            break
        lines = (rest + chunk).split(b"\n")
        rest = lines.pop()
        yield from lines
    if rest:
        yield rest


Database = Engine | Callable[[], Engine] | None  # an engine, a way to open one, or no database


def _open_input(options: BackfillOptions) -> tuple[BufferedIOBase, subprocess.Popen[bytes] | None, int | None]:
    """The input stream (and journalctl, started now, and the input's size when known)."""
    if options.input == "-":
        return _buffered(sys.stdin.buffer, "standard input"), None, None
    if options.input is not None:
        path = Path(options.input)
        return path.open("rb"), None, path.stat().st_size
    args = options.source.args(follow=False, since=options.since, until=options.until, output="export")
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    assert process.stdout is not None  # stdout=PIPE
    with contextlib.suppress(OSError, AttributeError):  # journalctl runs ahead while we get ready
        fcntl.fcntl(process.stdout.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    return _buffered(process.stdout, "journalctl's output"), process, None


def run_backfill(options: BackfillOptions, database: Database, *, stderr: TextIO = sys.stderr) -> Summary:
    """Read the input through the live pipeline and write what it closes (see the module doc).

    journalctl starts first; a database given as a callable is opened (and migrated) in a thread
    meanwhile, and is ready before the first record is written anywhere — an error opening it
    (SettingsError) leaves the files untouched.
    """
    started = time.monotonic()
    stream, process, total = _open_input(options)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="backfill-db") as pool:
        opening = pool.submit(database) if callable(database) else None
        try:
            store = SessionStore(options.idle_timeout_s, options.max_sessions)
            ingestor = Ingestor(store, include_loopback=options.include_loopback)

            def engine() -> Engine | None:
                if opening is not None:
                    return opening.result()
                return database if isinstance(database, Engine) else None

            sink = _Sink(
                DailyLog(options.log_dir, SESSIONS_STEM, retention_days=options.retention_days),
                engine,
                logged_keys(options.log_dir),
                options.outbox,
            )
            progress = Progress(stderr, total)
            read = [0]
            try:
                _feed(
                    options,
                    stream,
                    journal=process is not None,
                    ingestor=ingestor,
                    sink=sink,
                    progress=progress,
                    read=read,
                )
                store.close_all()
                sink.write(ingestor.take()[0])
                sink.engine()  # a database that cannot be opened is an error even with no record
            finally:
                progress.update(read[0], ingestor.counters.entries, force=True)
                progress.done()
        finally:
            if process is not None:
                stream.close()  # journalctl's stdout
                process.wait()
            elif options.input not in (None, "-"):
                stream.close()
    if process is not None and process.returncode not in (0, None):
        raise RuntimeError(f"journalctl exited with code {process.returncode}")
    return _summary(ingestor, sink, time.monotonic() - started, in_database=database is not None)


def _feed(
    options: BackfillOptions,
    stream: BufferedIOBase,
    *,
    journal: bool,
    ingestor: Ingestor,
    sink: _Sink,
    progress: Progress,
    read: list[int],
) -> None:
    """Every entry of the input into the ingestor (`journal`: journalctl -o export is the input); an
    entry it fails on is set aside by the sink."""
    if options.format == "text" and options.input is not None:
        errors: list[str] = []
        for entry in iter_text(_lines(stream, read), errors):
            try:
                ingestor.add(entry)
            except Exception as exc:
                sink.entry(entry, exc)
            _drain(ingestor, sink, progress, read)
    elif journal:  # the journal itself, through journalctl -o export
        for cursor, realtime_us, message in export_entries(functools.partial(_read, stream, read)):
            try:
                ingestor.add_export(cursor, realtime_us, message)
            except Exception as exc:
                sink.entry(JournalEntry(None, realtime_us, message.decode("utf-8", "replace")), exc)
            _drain(ingestor, sink, progress, read)
    else:
        for line in _lines(stream, read):
            try:
                ingestor.add_json_line(line)
            except Exception as exc:
                sink.entry(JournalEntry(None, None, line.decode("utf-8", "replace")), exc)
            _drain(ingestor, sink, progress, read)


def _summary(ingestor: Ingestor, sink: _Sink, elapsed: float, *, in_database: bool) -> Summary:
    counters = ingestor.counters
    ignored = dict(counters.ignored)
    ignored.pop(MALFORMED, None)
    malformed = counters.ignored.get(MALFORMED, 0)
    if malformed:
        ignored["malformed"] = malformed
    return Summary(
        counters.entries, counters.hits, ignored, sink.count, sink.in_files, elapsed, sink.aside, in_database
    )


def _drain(ingestor: Ingestor, sink: _Sink, progress: Progress, read: list[int]) -> None:
    if len(ingestor.pending_records) >= FLUSH_EVERY:
        sink.write(ingestor.take()[0])
    if progress.enabled and ingestor.counters.entries % 4096 == 0:
        progress.update(read[0], ingestor.counters.entries)
