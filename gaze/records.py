"""Session records reach the database here: the one insert path `add_records` and the usage roll-ups
kept with it — DESIGN §1 (gaze/db.py stores the records) and §4 (a record is written once, ever;
a session belongs to the local day its end falls in).

Insert path
    `add_records(db, records, source)` is how every record reaches `session_record` (live monitor,
    backfill, log import). A record's identity is (end_ms, user_id, ip, module, duration_s).
    - backfill / import: a record already stored (any source, or earlier in the same batch) is
      skipped, so loading a period twice never duplicates it;
    - live: every record is inserted, because the live log writer puts each live row (by id) into
      modulegaze-sessions.log exactly once. When a live record repeats a stored backfill/import row,
      that older row is marked in `session_duplicate` (the live row becomes the counted one); a live
      record repeating a live row is itself marked. Marked rows stay in the table but are left out
      of every History figure. The roll-ups (`usage_daily`, `usage_hourly`) are updated in the same
      transaction, and always equal the aggregates of the unmarked rows.

Roll-ups
    Days are local calendar days (the machine's time zone when the record is inserted) of the
    session END, as YYYYMMDD integers: a session belongs to the day (and range) its end falls in,
    the log file's rule. `usage_daily` has one row per (day, module, ip, user) with seconds,
    sessions and 24 hour columns h00…h23 (milliseconds); `usage_dim` the same per (dim, day, value)
    for each single dimension (module / ip / user); `usage_hourly` (day, hour) → ms, sessions
    active. The hour split covers [end − duration, end] cut at local hour boundaries, each piece
    labelled with its own local hour (gaze.localtime.hour_pieces). The queries of gaze.history read
    them. After a change of the machine's time zone, `rebuild_rollups` recomputes them. The
    in-memory accumulator and its upserts are gaze/rollups.py.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Connection, delete, exists, insert, select, update
from sqlalchemy.orm import Session

from gaze.db import LIVE, DuplicateRow, OutboxRow, RecordRow, write_lock
from gaze.engine import execute_many
from gaze.logs import clean_field
from gaze.rollups import DAILY, DIMS, HOURLY, IP, MODULE, USER, Rollup
from gaze.sessions import SessionRecord

__all__ = [
    "DAILY",
    "DIMS",
    "DUPLICATES",
    "HOURLY",
    "IP",
    "MODULE",
    "OUTBOX",
    "RECORDS",
    "USER",
    "RecordKey",
    "Rollup",
    "add_records",
    "not_marked",
    "rebuild_rollups",
    "take_write_lock",
]

_LOOKUP_CHUNK = 500  # end_ms values per duplicate lookup
_PG_LOCK_KEY = 0x67617A65  # "gaze": serialises add_records between processes on PostgreSQL

RECORDS = RecordRow.__table__
DUPLICATES = DuplicateRow.__table__
OUTBOX = OutboxRow.__table__

RecordKey = tuple[int, str, str, str, int]  # a record's identity: end_ms, user_id, ip, module, duration_s


def not_marked() -> ColumnElement[bool]:
    """session_record rows that are counted: not marked in session_duplicate."""
    return ~exists().where(DUPLICATES.c.record_id == RECORDS.c.id)


# ====================================================================== the insert path


@dataclass(slots=True)
class _Item:
    end_ms: int
    start_ms: int
    user: str
    ip: str
    module: str
    duration_s: int
    reason: str

    @property
    def key(self) -> RecordKey:
        return (self.end_ms, self.user, self.ip, self.module, self.duration_s)


def _item(r: SessionRecord | RecordRow) -> _Item:
    """The row to store, with identities and module ids normalised as in the log files."""
    if isinstance(r, SessionRecord):
        user, ip, module = r.user, r.ip, r.module
    else:
        user, ip, module = r.user_id, r.ip, r.module
    return _Item(r.end_ms, r.start_ms, clean_field(user), clean_field(ip), clean_field(module), r.duration_s, r.reason)


def _lock(conn: Connection) -> None:
    """Hold the write lock from the start, so the duplicate check and the inserts are one atomic step."""
    write_lock(conn, _PG_LOCK_KEY, "session_duplicate")


def take_write_lock(db: Session | Connection) -> None:
    """Hold the write lock `add_records` takes, now (it is held to the end of the transaction): on
    SQLite this also opens the transaction, which a first savepoint would otherwise stand in for."""
    _lock(db.connection() if isinstance(db, Session) else db)


def _counted(conn: Connection, end_values: Iterable[int]) -> dict[RecordKey, tuple[int, str]]:
    """Counted (unmarked) rows with one of these end_ms values: key → (id, source); live rows win."""
    found: dict[RecordKey, tuple[int, str]] = {}
    values = sorted(set(end_values))
    r = RECORDS.c
    for i in range(0, len(values), _LOOKUP_CHUNK):
        stmt = (
            select(r.id, r.end_ms, r.user_id, r.ip, r.module, r.duration_s, r.source)
            .where(r.end_ms.in_(values[i : i + _LOOKUP_CHUNK]), not_marked())
            .order_by(r.id)
        )
        for row in conn.execute(stmt):
            key = (row.end_ms, row.user_id, row.ip, row.module, row.duration_s)
            if key not in found or (row.source == LIVE and found[key][1] != LIVE):
                found[key] = (row.id, row.source)
    return found


@dataclass
class _Plan:
    """What `add_records` does with a batch: the rows to insert and what they mark or queue."""

    keep: list[_Item] = field(default_factory=list)
    mark_old: list[int] = field(default_factory=list)  # stored rows a live record takes over from
    mark_new: list[int] = field(default_factory=list)  # positions in `keep` of live rows that repeat a live row
    fresh: list[int] = field(default_factory=list)  # positions in `keep` of rows counted for the first time
    takeover: list[tuple[int, int]] = field(default_factory=list)  # (stored row id, position of the live row)
    rollup: Rollup = field(default_factory=Rollup)


def _plan(items: list[_Item], counted: dict[RecordKey, tuple[int, str]], source: str) -> _Plan:
    """Sort a batch by the duplicate rules of the module doc (`counted` is updated as rows are kept)."""
    plan = _Plan()
    keep, rollup = plan.keep, plan.rollup
    live = source == LIVE
    for item in items:
        key = item.key
        hit = counted.get(key)
        if not live:
            if hit is not None:
                continue
            counted[key] = (-1, source)
        elif hit is None:
            counted[key] = (-1, LIVE)
        elif hit[1] != LIVE:
            if hit[0] >= 0:
                plan.mark_old.append(hit[0])
                plan.takeover.append((hit[0], len(keep)))
            counted[key] = (-1, LIVE)
            keep.append(item)
            continue  # same key, same roll-up contribution: the figures do not change
        else:
            plan.mark_new.append(len(keep))
            keep.append(item)
            continue
        plan.fresh.append(len(keep))
        keep.append(item)
        rollup.add(item.end_ms, item.duration_s, item.module, item.ip, item.user)
    return plan


def add_records(
    db: Session | Connection,
    records: Sequence[SessionRecord] | Sequence[RecordRow],
    source: str,
    *,
    outbox: bool = False,
) -> int:
    """Insert session records inside the caller's transaction (`db`: an ORM Session or a Connection)
    and update the roll-ups with them; returns how many rows were inserted. See the module doc for
    the duplicate rules (live records are always inserted; others only when not stored yet).
    `outbox`: also queue the newly counted records for the uplink (DESIGN §8), in this transaction;
    a record that repeats a counted one (a marked duplicate, or a live takeover) is not queued again."""
    items = [_item(r) for r in records]
    if not items:
        return 0
    conn = db.connection() if isinstance(db, Session) else db
    _lock(conn)
    plan = _plan(items, _counted(conn, (i.end_ms for i in items)), source)
    if not plan.keep:
        return 0
    _insert(conn, plan, source, outbox=outbox)
    plan.rollup.write(conn)
    return len(plan.keep)


def _insert(conn: Connection, plan: _Plan, source: str, *, outbox: bool) -> None:
    """Insert the kept rows, mark the duplicates, queue the newly counted rows for the uplink."""
    keep, fresh, mark_old = plan.keep, plan.fresh, plan.mark_old
    values = [
        {
            "end_ms": i.end_ms,
            "start_ms": i.start_ms,
            "user_id": i.user,
            "ip": i.ip,
            "module": i.module,
            "duration_s": i.duration_s,
            "reason": i.reason,
            "source": source,
        }
        for i in keep
    ]
    if plan.mark_new or plan.takeover or (outbox and fresh):
        ids = [
            row[0]
            for row in conn.execute(insert(RECORDS).returning(RECORDS.c.id, sort_by_parameter_order=True), values)
        ]
        mark_old.extend(ids[p] for p in plan.mark_new)
        if outbox and fresh:
            queued = int(time.time() * 1000)
            rows = [{"record_id": ids[p], "end_ms": keep[p].end_ms, "queued_ms": queued} for p in fresh]
            conn.execute(insert(OUTBOX), rows)
        for old, p in plan.takeover:  # the uplink's queue follows the counted row: queued (or shipped) once
            conn.execute(update(OUTBOX).where(OUTBOX.c.record_id == old).values(record_id=ids[p]))
    else:
        execute_many(conn, insert(RECORDS), values)
    if mark_old:
        conn.execute(insert(DUPLICATES), [{"record_id": i} for i in mark_old])


def rebuild_rollups(conn: Connection, batch: int = 20_000) -> int:
    """Recompute the roll-ups and duplicate marks from every session_record row (in the caller's
    transaction): the data step of migration 0004, and the repair after a time zone change.

    Reads the rows in (end_ms, id) order `batch` at a time; equal keys share their end_ms, so the
    duplicates of a row are always in the same end_ms group. Returns the number of rows read."""
    conn.execute(delete(DAILY))
    conn.execute(delete(DIMS))
    conn.execute(delete(HOURLY))
    conn.execute(delete(DUPLICATES))
    r = RECORDS.c
    columns = (r.id, r.end_ms, r.user_id, r.ip, r.module, r.duration_s, r.source)
    rollup = Rollup()
    marks: list[int] = []
    total = 0

    def process(rows: Sequence[Any]) -> None:
        nonlocal total
        total += len(rows)
        group: dict[RecordKey, tuple[int, str]] = {}
        current: int | None = None
        for row in rows:
            if row.end_ms != current:
                group, current = {}, row.end_ms
            key = (row.end_ms, row.user_id, row.ip, row.module, row.duration_s)
            hit = group.get(key)
            if hit is None:
                group[key] = (row.id, row.source)
                rollup.add(row.end_ms, row.duration_s, row.module, row.ip, row.user_id)
            elif hit[1] != LIVE and row.source == LIVE:
                marks.append(hit[0])
                group[key] = (row.id, row.source)
            else:
                marks.append(row.id)
        if len(rollup) > 100_000:
            rollup.write(conn)
        if marks:
            conn.execute(insert(DUPLICATES), [{"record_id": i} for i in marks])
            marks.clear()

    since: int | None = None
    strict = False
    while True:
        stmt = select(*columns).order_by(r.end_ms, r.id).limit(batch)
        if since is not None:
            stmt = stmt.where(r.end_ms > since if strict else r.end_ms >= since)
        rows = conn.execute(stmt).all()
        if len(rows) < batch:
            process(rows)
            break
        last = rows[-1].end_ms
        complete = [row for row in rows if row.end_ms != last]
        if complete:
            process(complete)
            since, strict = last, False
        else:  # one end_ms value fills the whole batch: take that group whole
            process(conn.execute(select(*columns).where(r.end_ms == last).order_by(r.id)).all())
            since, strict = last, True
    rollup.write(conn)
    return total
