"""`python main.py backfill`: rebuild session records from past journal entries.

Reads `journalctl -o json` output, short-iso text, or the journal itself, through the same Ingestor
as live reading, so the records and their order are the ones live reading writes. The Ingestor runs
in a reading process of its own (gaze.backfill_stage); this one stores and writes what it sends.
Never touches the live checkpoint; records go to the log files and to the `session_record` table as
source "backfill".

A record line is written once, ever (DESIGN §4): before writing, backfill reads the records the
session log files of the log directory already hold (plain file and archives, ours and upstream's)
and leaves those out of the files, so running it again — with or without a database — adds no line.
The database side skips records already stored (gaze.records.add_records).

A record the database refuses (or whose text is not UTF-8) is set aside as live reading does
(gaze.setaside: the `set_aside` table, counted in the summary) and left out of the files too, so the
files and the database agree; each chunk is stored in the database before its lines are written.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from gaze import setaside
from gaze.backfill_report import Progress, Summary
from gaze.backfill_stage import ASIDE, END, PROGRESS, RECORDS, BackfillOptions, Stage
from gaze.ingest import MALFORMED, Counters
from gaze.journalctl import JournalEntry
from gaze.localtime import local_day
from gaze.logs import SESSIONS_STEM, DailyLog, format_session_line
from gaze.logs.importer import logged_keys, record_key
from gaze.sessions import SessionRecord
from gaze.setaside import SetAside

if TYPE_CHECKING:  # loaded when there is a database: `--no-database` does without SQLAlchemy
    from sqlalchemy import Engine

    Database = Engine | Callable[[], Engine] | None  # an engine, a way to open one, or no database

FLUSH_EVERY = 5000  # records per write (a commit and an fsync of the log file each: few, on a busy disk)


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
            from sqlalchemy.orm import Session

            from gaze.db import BACKFILL

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


def run_backfill(
    options: BackfillOptions, database: Database, *, stderr: TextIO = sys.stderr, stage: Stage | None = None
) -> Summary:
    """Read the input through the live pipeline and write what it closes (see the module doc).

    The reading process (gaze.backfill_stage, `stage` when the caller started it already) parses and
    sessionizes while this one opens the database: one given as a callable is opened (and migrated)
    in a thread, and is ready before the first record is written anywhere — an error opening it
    (SettingsError) leaves the files untouched. The records are written in batches as they come.
    """
    started = time.monotonic()
    total = Path(options.input).stat().st_size if options.input not in (None, "-") else None
    stage = stage or Stage.start(options, progress=stderr.isatty())
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="backfill-db") as pool:
            opening = pool.submit(database) if callable(database) else None

            def engine() -> Engine | None:
                if opening is not None:
                    return opening.result()
                return None if callable(database) else database

            sink = _Sink(
                DailyLog(options.log_dir, SESSIONS_STEM, retention_days=options.retention_days),
                engine,
                logged_keys(options.log_dir),
                options.outbox,
            )
            counters = _take(stage, sink, Progress(stderr, total))
            sink.engine()  # a database that cannot be opened is an error even with no record
    finally:
        stage.close()
    stage.check()
    assert counters is not None  # check() raises when the reading process did not end
    return _summary(counters, sink, time.monotonic() - started, in_database=database is not None)


def _take(stage: Stage, sink: _Sink, progress: Progress) -> Counters | None:
    """Store and write what the reading process sends, FLUSH_EVERY records at a time; its counters."""
    pending: list[SessionRecord] = []
    counters: Counters | None = None
    done = (0, 0)
    try:
        for kind, value in stage.messages():
            if kind == RECORDS:
                pending += [SessionRecord(*fields) for fields in value]
                if len(pending) >= FLUSH_EVERY:
                    sink.write(pending)
                    pending = []
            elif kind == ASIDE:
                sink.entry(*value)
            elif kind == PROGRESS:
                done = value
                progress.update(*done)
            elif kind == END:
                counters = value
        sink.write(pending)
    finally:
        progress.update(*done, force=True)
        progress.done()
    return counters


def _summary(counters: Counters, sink: _Sink, elapsed: float, *, in_database: bool) -> Summary:
    ignored = dict(counters.ignored)
    ignored.pop(MALFORMED, None)
    malformed = counters.ignored.get(MALFORMED, 0)
    if malformed:
        ignored["malformed"] = malformed
    return Summary(
        counters.entries, counters.hits, ignored, sink.count, sink.in_files, elapsed, sink.aside, in_database
    )
