"""Exactly-once writing of the plain log files — DESIGN §4 on top of gaze.logs.files.

Protocol for one write of `data` to a DailyLog:
1. `prepare(day)` archives an old plain file and gives the offset the data will start at;
2. the intent (path, offset, data, last record id) is committed to our database — for the access
   tee in the same transaction as the journal cursor, so the lines and the cursor move together;
3. the data is appended and fsynced;
4. the intent is cleared (and `written_upto` advanced) in the database.
At start-up `recover()` completes an intent left by a crash with `DailyLog.reconcile`, which writes
only what is missing. A failed write (unwritable directory, full disk) leaves no part of a line in the
file (gaze.logs.files cuts it back) and keeps everything for the next attempt.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from gaze.db import LIVE, LogWriterRow, RecordRow
from gaze.localtime import local_day
from gaze.logs.files import DailyLog, LogDirError
from gaze.logs.format import format_session_line

log = logging.getLogger(__name__)

MAX_PENDING_ACCESS = 32 * 1024 * 1024  # access lines kept while the directory is unwritable


@dataclass
class WriterStatus:
    ok: bool = True
    detail: str = ""
    waiting: int = 0  # session records not yet in the file


def session_bytes(rows: Iterable[RecordRow]) -> bytes:
    return "".join(format_session_line(r.end_ms, r.user_id, r.ip, r.module, r.duration_s) for r in rows).encode()


class ExactlyOnceLog:
    """One DailyLog plus its row in `log_writer`."""

    def __init__(self, engine: Engine, log_file: DailyLog) -> None:
        self.engine = engine
        self.file = log_file
        self.stem = log_file.path.stem
        self.status = WriterStatus()

    def _row(self, db: Session) -> LogWriterRow:
        row = db.get(LogWriterRow, self.stem)
        if row is None:
            row = LogWriterRow(stem=self.stem, written_upto=0)
            db.add(row)
        return row

    def recover(self) -> None:
        """Finish a write a crash interrupted (the intent in the database says what it was)."""
        self._finish_pending()

    def _finish_pending(self) -> bool:
        return self.complete(self._intent_day())

    def rotate_due(self) -> None:
        """The midnight job: archive an earlier day's plain file and prune. A pending write is
        finished first — its recorded offset is in this plain file; archived under it, the offset
        would point into a new file and the write be done again. If it cannot be finished (database
        or directory away), the rotation waits for the next write or midnight."""
        if self._finish_pending():
            self.file.rotate_due()
            self.file.prune()

    def _intent_day(self) -> date:
        """The local day the pending intent is written for."""
        return local_day(None)

    def stage(self, db: Session, data: bytes, day: date, upto: int | None = None) -> bool:
        """Record the intent to write `data` inside the caller's transaction. False if nothing to do."""
        row = self._row(db)
        offset: int | None = None
        if row.intent_data is not None:  # an earlier write not cleared: keep its data in front, at its
            data = row.intent_data + data  # offset (it may be in the file already, whole or in part)
            offset = row.intent_offset
            if upto is None and len(data) > MAX_PENDING_ACCESS:
                log.error("dropping %d bytes of %s: directory unwritable for too long", len(row.intent_data), self.stem)
                data, offset = data[len(row.intent_data) :], None
        if not data:
            return False
        if offset is None:
            try:
                offset = self.file.prepare(day)
            except LogDirError as exc:
                self._failed(exc)
        row.intent_path, row.intent_offset, row.intent_data = str(self.file.path), offset, data
        row.intent_upto = upto if upto is not None else row.intent_upto
        return True

    def complete(self, day: date) -> bool:
        """Write the staged intent and clear it. False when the directory refused (kept for later)."""
        if not self._pin_offset(day):
            return False
        with Session(self.engine) as db, db.begin():
            row = self._row(db)
            if row.intent_data is None:
                return True
            try:
                if row.intent_offset is None:
                    self.file.append(row.intent_data, day)
                else:
                    self.file.reconcile(row.intent_offset, row.intent_data)
            except LogDirError as exc:
                self._failed(exc)
                return False
            self._done(row)
            return True

    def _pin_offset(self, day: date) -> bool:
        """Give an intent staged while the directory was unusable its offset, committed before any byte
        is written: a crash during the write is then completed by `reconcile`, not appended twice."""
        with Session(self.engine) as db, db.begin():
            row = self._row(db)
            if row.intent_data is None or row.intent_offset is not None:
                return True
            try:
                row.intent_offset = self.file.prepare(day)
            except LogDirError as exc:
                self._failed(exc)
                return False
        return True

    def _done(self, row: LogWriterRow) -> None:
        if row.intent_upto is not None:
            row.written_upto = max(row.written_upto, row.intent_upto)
        row.intent_path = row.intent_offset = row.intent_data = row.intent_upto = None
        if not self.status.ok:
            log.info("%s: writing again", self.stem)
        self.status.ok, self.status.detail = True, ""

    def _failed(self, exc: LogDirError) -> None:
        if self.status.ok:
            log.error("%s: %s (kept; retried later)", self.stem, exc)
        self.status.ok, self.status.detail = False, str(exc)


class SessionLogWriter(ExactlyOnceLog):
    """Writes live session records from the database to modulegaze-sessions.log, each exactly once."""

    def flush(self) -> bool:
        """Write every live record not yet in the file, one local day at a time."""
        while True:
            with Session(self.engine) as db:
                row = self._row(db)
                if row.intent_data is not None:
                    db.rollback()
                    if not self._finish_pending():
                        return False
                    continue
                rows = db.scalars(
                    select(RecordRow)
                    .where(RecordRow.source == LIVE, RecordRow.id > row.written_upto)
                    .order_by(RecordRow.id)
                    .limit(5000)
                ).all()
                self.status.waiting = len(rows)
                if not rows:
                    return True
                day = local_day(rows[0].end_ms)
                group = _same_day_prefix(rows, day)
            with Session(self.engine) as db, db.begin():
                self.stage(db, session_bytes(group), day, upto=group[-1].id)
            if not self.complete(day):
                return False

    def _intent_day(self) -> date:
        """The local day of the pending intent's last record (it was staged for that day)."""
        with Session(self.engine) as db:
            row = self._row(db)
            upto = row.intent_upto
        return local_day(None) if upto is None else self._day_of(upto)

    def _day_of(self, record_id: int) -> date:
        with Session(self.engine) as db:
            end_ms = db.scalar(select(RecordRow.end_ms).where(RecordRow.id == record_id))
        return local_day(end_ms)


def _same_day_prefix(rows: Sequence[RecordRow], day: date) -> list[RecordRow]:
    out = []
    for r in rows:
        if local_day(r.end_ms) != day:
            break
        out.append(r)
    return out
