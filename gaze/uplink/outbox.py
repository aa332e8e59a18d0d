"""The uplink's outbox in our database (DESIGN §8): queued records, and the shipments (batches) formed from them.

`gaze.records.add_records(..., outbox=True)` queues newly counted records in the transaction that
inserts them. A batch is formed in ONE transaction: its object key and CSV bytes are stored and its
records leave the queue together. Only then is it sent; a batch stays "unsent" until the store has
acknowledged it, and an unsent batch is always sent again with the same key and bytes before a new
one is formed. So a crash or timeout anywhere costs at most one repeated PUT of identical bytes to
the same key: no record is lost and none appears twice in the bucket.

Blocking functions taking an Engine (run them in a worker thread).
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, exists, func, insert, select, update

from gaze.csvrow import HEADER, cdn_row
from gaze.db import DuplicateRow, OutboxRow, RecordRow, UplinkBatchRow, write_lock

BATCH_RECORDS = 5000  # records per object: ~0.5 MB of CSV, held in memory one at a time
_PG_LOCK_KEY = 0x67617A66  # serialises batch forming between processes on PostgreSQL

OUTBOX = OutboxRow.__table__
BATCHES = UplinkBatchRow.__table__
RECORDS = RecordRow.__table__
DUPLICATES = DuplicateRow.__table__


def csv_bytes(rows: Iterable[Sequence[str]]) -> bytes:
    """Header plus rows, UTF-8 without byte-order mark, CRLF line ends (Python's csv, as cdn-auto writes)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def object_key(prefix: str, location: str, first_end_ms: int, last_end_ms: int, extra_s: int = 0) -> str:
    """`<prefix>/ModuleGaze/<location>_custom_<YYYYmmdd_HHMMSS>_<seconds>s_modulegaze_logs.csv`: the UTC
    window from the first record's end second, long enough to hold the last one (+ `extra_s`)."""
    first_s, last_s = first_end_ms // 1000, last_end_ms // 1000
    stamp = datetime.fromtimestamp(first_s, UTC).strftime("%Y%m%d_%H%M%S")
    name = f"ModuleGaze/{location}_custom_{stamp}_{last_s - first_s + 1 + extra_s}s_modulegaze_logs.csv"
    return f"{prefix}/{name}" if prefix else name


@dataclass(frozen=True)
class Shipment:
    id: int
    key: str
    body: bytes
    records: int
    attempts: int


@dataclass(frozen=True)
class Counts:
    queued: int  # records waiting for a batch
    unsent: int  # records in batches formed but not acknowledged yet
    last_sent_ms: int | None

    @property
    def waiting(self) -> int:
        return self.queued + self.unsent


def _write_lock(conn: Connection) -> None:
    """Take the write lock first, so two processes never form batches from the same records."""
    write_lock(conn, _PG_LOCK_KEY, "uplink_batch")


def _unsent(conn: Connection) -> Shipment | None:
    b = BATCHES.c
    row = conn.execute(
        select(b.id, b.key, b.body, b.records, b.attempts).where(b.sent_ms.is_(None)).order_by(b.id).limit(1)
    ).first()
    return None if row is None else Shipment(row.id, row.key, bytes(row.body), row.records, row.attempts)


def next_batch(
    engine: Engine,
    prefix: str,
    location: str,
    names: Callable[[str], str | None] = lambda _module: None,
    limit: int = BATCH_RECORDS,
) -> Shipment | None:
    """The oldest unsent batch; else a new one formed from the oldest queued records; else None."""
    with engine.begin() as conn:
        _write_lock(conn)
        found = _unsent(conn)
        if found is not None:
            return found
        o, r = OUTBOX.c, RECORDS.c
        stmt = (
            select(o.record_id, r.end_ms, r.user_id, r.ip, r.module, r.duration_s)
            .join(RECORDS, r.id == o.record_id)
            .where(o.batch_id.is_(None))
            .order_by(o.end_ms, o.record_id)
            .limit(limit)
        )
        picked = conn.execute(stmt).all()
        if not picked:
            return None
        cache: dict[str, str | None] = {}

        def name(module: str) -> str | None:
            if module not in cache:
                cache[module] = names(module)
            return cache[module]

        body = csv_bytes(cdn_row(p.end_ms, p.user_id, p.ip, p.module, p.duration_s, name(p.module)) for p in picked)
        first, last = min(p.end_ms for p in picked), max(p.end_ms for p in picked)
        extra = 0
        key = object_key(prefix, location, first, last)
        while conn.execute(select(exists().where(BATCHES.c.key == key))).scalar():
            extra += 1  # two batches on the same window: widen this one's by a second, never overwrite
            key = object_key(prefix, location, first, last, extra)
        now = int(time.time() * 1000)
        batch_id = conn.execute(
            insert(BATCHES).returning(BATCHES.c.id),
            {"key": key, "body": body, "records": len(picked), "created_ms": now, "attempts": 0, "sent_ms": None},
        ).scalar_one()
        ids = [p.record_id for p in picked]
        for i in range(0, len(ids), 500):
            conn.execute(update(OUTBOX).where(o.record_id.in_(ids[i : i + 500])).values(batch_id=batch_id))
        return Shipment(batch_id, key, body, len(picked), 0)


def note_attempt(engine: Engine, batch_id: int) -> None:
    with engine.begin() as conn:
        conn.execute(update(BATCHES).where(BATCHES.c.id == batch_id).values(attempts=BATCHES.c.attempts + 1))


def mark_sent(engine: Engine, batch_id: int, sent_ms: int | None = None) -> None:
    """The store acknowledged the batch: its records are shipped. The bytes are no longer needed."""
    sent = int(time.time() * 1000) if sent_ms is None else sent_ms
    with engine.begin() as conn:
        conn.execute(update(BATCHES).where(BATCHES.c.id == batch_id).values(sent_ms=sent, body=b""))


def counts(engine: Engine) -> Counts:
    o, b = OUTBOX.c, BATCHES.c
    with engine.connect() as conn:
        queued = conn.execute(select(func.count()).select_from(OUTBOX).where(o.batch_id.is_(None))).scalar_one()
        unsent = conn.execute(select(func.coalesce(func.sum(b.records), 0)).where(b.sent_ms.is_(None))).scalar_one()
        last = conn.execute(select(func.max(b.sent_ms))).scalar_one()
    return Counts(int(queued), int(unsent), None if last is None else int(last))


def queue_since(engine: Engine, since_ms: int) -> int:
    """Queue the counted records that ended at or after `since_ms` and were never queued; returns how many."""
    r, o, d = RECORDS.c, OUTBOX.c, DUPLICATES.c
    now = int(time.time() * 1000)
    stmt = (
        select(r.id, r.end_ms)
        .where(
            r.end_ms >= since_ms,
            ~exists().where(d.record_id == r.id),
            ~exists().where(o.record_id == r.id),
        )
        .order_by(r.id)
    )
    added = 0
    with engine.begin() as conn:
        _write_lock(conn)
        rows = conn.execute(stmt).all()
        for i in range(0, len(rows), 5000):
            chunk = rows[i : i + 5000]
            conn.execute(insert(OUTBOX), [{"record_id": x.id, "end_ms": x.end_ms, "queued_ms": now} for x in chunk])
            added += len(chunk)
    return added
