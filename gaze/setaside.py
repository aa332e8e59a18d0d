"""What could not be stored, kept for inspection instead of stopping the pipeline — issue 12.

A journal entry the pipeline raised on, or a session record the database refused (a NUL byte on
PostgreSQL, text that is not encodable), goes to the `set_aside` table as ASCII JSON, which any
database stores, and is counted. Nothing set aside is retried in front of the entries behind it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from gaze.db import SetAsideRow, error_text
from gaze.journal import JournalEntry
from gaze.sessions import SessionRecord

ENTRY, RECORD = "entry", "record"
MAX_KEPT_CHARS = 65_536  # of one set-aside item's data: enough to see what it was


@dataclass
class SetAside:
    """Items waiting to be stored in `set_aside` (with the next checkpoint) and the count so far."""

    count: int = 0
    last_error: str = ""
    pending: list[tuple[str, str, str]] = field(default_factory=list)  # (kind, data, error)

    def add_entry(self, entry: JournalEntry, exc: BaseException) -> None:
        data = {"cursor": entry.cursor, "realtime_us": entry.realtime_us, "message": entry.message}
        self._add(ENTRY, data, exc)

    def add_record(self, record: SessionRecord, exc: BaseException) -> None:
        data = {
            "ip": record.ip,
            "user": record.user,
            "module": record.module,
            "start_ms": record.start_ms,
            "end_ms": record.end_ms,
            "reason": record.reason,
        }
        self._add(RECORD, data, exc)

    def _add(self, kind: str, data: Mapping[str, object], exc: BaseException) -> None:
        error = error_line(exc)
        self.count += 1
        self.last_error = f"{kind}: {error}"
        self.pending.append((kind, json.dumps(data, ensure_ascii=True)[:MAX_KEPT_CHARS], error))


def store(db: Session, items: list[tuple[str, str, str]]) -> None:
    """Insert set-aside items inside the caller's transaction."""
    now = time.time_ns() // 1_000_000
    db.add_all(SetAsideRow(at_ms=now, kind=k, data=d, error=e) for k, d, e in items)


def error_line(exc: BaseException) -> str:
    """An exception as one ASCII line: its type and the driver's message."""
    return f"{type(exc).__name__}: {error_text(exc)}".encode("ascii", "backslashreplace").decode()
