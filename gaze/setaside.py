"""What could not be stored, kept for inspection instead of stopping the pipeline — issues 12, 17, 18.

A journal entry the pipeline raised on, or a session record that cannot be stored, goes to the
`set_aside` table as ASCII JSON, which any database stores, and is counted. Nothing set aside is
retried in front of the entries behind it. Since control characters became spaces (DESIGN §4), what
is still refused is rare: text that is not UTF-8 (a lone surrogate from a JSON `\\udxxx` escape, found
without asking the database) and, on PostgreSQL, a value too long and too varied for a roll-up's
index (over about 2,700 bytes compressed). `add_records_or_set_aside` finds the refused records of a
batch by halving it in savepoints, so they cost a few round trips each, not one per record.

The table keeps the newest `MAX_ROWS` items: older ones are deleted as new ones come, and counted
(`SetAside.dropped`, shown in /healthz).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gaze.hardening import error_text
from gaze.journalctl import JournalEntry
from gaze.sessions import SessionRecord

if TYPE_CHECKING:  # the database's side is loaded where it is used: a backfill without one needs SetAside only
    from sqlalchemy.orm import Session

ENTRY, RECORD = "entry", "record"
MAX_KEPT_CHARS = 16_384  # of one set-aside item's data: enough to see what it was
MAX_ROWS = 1_000  # set_aside keeps the newest this many items (at most about 16 MB); older ones are dropped
# A roll-up key (user, address, module) longer than this may not fit PostgreSQL's index (2,704 bytes
# after compression): such records are tried one by one, the others together.
LONG_KEY_BYTES = 2_400


@dataclass
class SetAside:
    """Items waiting to be stored in `set_aside` (with the next checkpoint) and the count so far."""

    count: int = 0
    last_error: str = ""
    dropped: int = 0  # older items deleted from set_aside to keep it at MAX_ROWS
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

    def screen(self, records: Sequence[SessionRecord]) -> list[SessionRecord]:
        """The records whose text any database can store; the others are set aside here, without a
        round trip to the database (text that is not UTF-8: a lone surrogate)."""
        kept: list[SessionRecord] = []
        for record in records:
            try:
                f"{record.user}{record.ip}{record.module}".encode()
            except UnicodeEncodeError as exc:
                self.add_record(record, exc)
            else:
                kept.append(record)
        return kept

    def _add(self, kind: str, data: Mapping[str, object], exc: BaseException) -> None:
        error = error_line(exc)
        self.count += 1
        self.last_error = f"{kind}: {error}"
        self.pending.append((kind, json.dumps(data, ensure_ascii=True)[:MAX_KEPT_CHARS], error))


def store(db: Session, items: list[tuple[str, str, str]]) -> int:
    """Insert set-aside items inside the caller's transaction, then drop the oldest rows beyond
    MAX_ROWS; returns how many were dropped."""
    from sqlalchemy import delete, select

    from gaze.db import SetAsideRow

    if not items:
        return 0
    now = time.time_ns() // 1_000_000
    db.add_all(SetAsideRow(at_ms=now, kind=k, data=d, error=e) for k, d, e in items)
    db.flush()
    ids = SetAsideRow.id
    oldest_kept = db.scalar(select(ids).order_by(ids.desc()).offset(MAX_ROWS - 1).limit(1))
    if oldest_kept is None:
        return 0
    return int(db.execute(delete(SetAsideRow).where(ids < oldest_kept)).rowcount or 0)  # type: ignore[attr-defined]


def add_records_or_set_aside(
    db: Session, records: Sequence[SessionRecord], source: str, *, aside: SetAside, outbox: bool = False
) -> list[SessionRecord]:
    """Insert `records` (gaze.records.add_records) in the caller's transaction; a record that cannot
    be stored is added to `aside` instead. Returns the records that were not refused, in order.

    The batch goes in one savepoint; when the database refuses it, each half is tried in its own,
    down to the refused records: r refused records among n cost about 2·r·log2(n) savepoints, a
    batch stored whole costs one. When it is refused, records with a roll-up key over LONG_KEY_BYTES
    (rare: the usual values are a few dozen characters) are tried alone, after the others. A failure
    that is not about a value (the database went away) is raised, and nothing is set aside for it.
    """
    from gaze.records import take_write_lock

    kept = aside.screen(records)
    if not kept:
        return kept
    take_write_lock(db)  # opens the write transaction before the first savepoint (SQLite)
    if _attempt(db, kept, source, outbox):
        return kept  # the usual batch: one savepoint
    short = [r for r in kept if _key_bytes(r) <= LONG_KEY_BYTES]
    stored = {id(r) for r in _halving(db, short, source, aside, outbox)} if short else set()
    for record in kept:  # a long key alone: refused, it costs one savepoint, not a halving
        if _key_bytes(record) > LONG_KEY_BYTES and _halving(db, [record], source, aside, outbox):
            stored.add(id(record))
    return [r for r in kept if id(r) in stored]


def _attempt(db: Session, records: Sequence[SessionRecord], source: str, outbox: bool) -> bool:
    """Insert in a savepoint; False (nothing inserted) when the database refuses a value."""
    from gaze.records import add_records

    try:
        with db.begin_nested():
            add_records(db, records, source, outbox=outbox)
    except Exception as exc:
        if _not_about_values(exc):
            raise
        return False
    return True


def _key_bytes(record: SessionRecord) -> int:
    """The length of a record's roll-up key (user, address, module) in UTF-8 bytes, or a bound of it."""
    chars = len(record.user) + len(record.ip) + len(record.module)
    if chars * 4 <= LONG_KEY_BYTES:  # the usual record: no need to encode it
        return chars * 4
    return len(f"{record.user}{record.ip}{record.module}".encode())


def _halving(
    db: Session, records: Sequence[SessionRecord], source: str, aside: SetAside, outbox: bool
) -> list[SessionRecord]:
    from gaze.db import answers
    from gaze.records import add_records

    try:
        with db.begin_nested():
            add_records(db, records, source, outbox=outbox)
        return list(records)
    except Exception as exc:
        if _not_about_values(exc):
            raise
        if len(records) > 1:
            half = len(records) // 2
            return _halving(db, records[:half], source, aside, outbox) + _halving(
                db, records[half:], source, aside, outbox
            )
        if not _about_a_value(exc) and not answers(db.get_bind()):  # type: ignore[arg-type]
            raise
        aside.add_record(records[0], exc)
        return []


def _not_about_values(exc: Exception) -> bool:
    """A failure no record is to blame for: the connection lost, or PostgreSQL's SQLSTATE class 08
    (connection), 40 (rolled back: deadlock), 53 (insufficient resources: disk full), 55 (lock not
    available), 57 (operator intervention), 58 (system error) or XX (internal). Raised: the batch
    waits in memory and is tried again, nothing set aside for it."""
    from sqlalchemy.exc import DBAPIError

    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    sqlstate = getattr(getattr(exc, "orig", None), "sqlstate", None)
    return isinstance(sqlstate, str) and sqlstate[:2] in ("08", "40", "53", "55", "57", "58", "XX")


def _about_a_value(exc: Exception) -> bool:
    """Whether the database refused a value (then the connection is fine, no need to ask): text it
    cannot encode, or PostgreSQL's SQLSTATE class 22 (data exception), 23 (integrity) or 54 (program
    limit exceeded, e.g. an index row too large)."""
    from sqlalchemy.exc import DataError

    if isinstance(exc, DataError | UnicodeError):
        return True
    sqlstate = getattr(getattr(exc, "orig", None), "sqlstate", None)
    return isinstance(sqlstate, str) and sqlstate[:2] in ("22", "23", "54")


def error_line(exc: BaseException) -> str:
    """An exception as one ASCII line: its type and the driver's message."""
    return f"{type(exc).__name__}: {error_text(exc)}".encode("ascii", "backslashreplace").decode()
