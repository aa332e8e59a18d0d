"""gaze.records: the one insert path on real SQLite files and the real PostgreSQL server — each record
stored once whatever the source, live rows always kept (for the log writer) and counted once."""

from __future__ import annotations

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from gaze import history
from gaze.db import BACKFILL, IMPORT, LIVE, DuplicateRow, RecordRow, UsageDaily
from tests.test_history import HOUR, IPS, MIN, insert, rec


def test_backfill_and_import_twice_store_each_record_once(engine: Engine) -> None:
    records = [rec(1_800_000_000_000 + i * MIN, 30 + i) for i in range(10)]
    assert insert(engine, records, BACKFILL) == 10
    assert insert(engine, records, BACKFILL) == 0
    assert insert(engine, [*records[5:], rec(1_800_000_000_000 + 99 * MIN, 5)], IMPORT) == 1
    assert insert(engine, [records[0], records[0]], IMPORT) == 0
    fresh = rec(1_700_000_000_000, 7)
    assert insert(engine, [fresh, fresh, fresh], IMPORT) == 1  # repeated inside one batch
    with Session(engine) as db:
        assert db.scalar(select(func.count()).select_from(RecordRow)) == 12
        assert db.scalar(select(func.sum(UsageDaily.sessions))) == 12
        assert db.scalar(select(func.sum(UsageDaily.seconds))) == sum(r.duration_s for r in records) + 5 + 7


def test_live_records_are_always_inserted_and_counted_once(engine: Engine) -> None:
    base = 1_800_000_000_000
    old = [rec(base + i * MIN, 40, IPS[i % 2]) for i in range(4)]
    assert insert(engine, old, BACKFILL) == 4
    everything = history.Range(base - HOUR, base + HOUR, "x")
    before = history.totals(engine, everything)
    live = [*old[:2], rec(base + 10 * MIN, 50), old[0]]  # two repeats of backfill rows, one new, one live repeat
    assert insert(engine, live, LIVE) == 4
    with Session(engine) as db:
        rows = db.scalars(select(RecordRow).order_by(RecordRow.id)).all()
        marked = set(db.scalars(select(DuplicateRow.record_id)))
    assert [r.source for r in rows] == [BACKFILL] * 4 + [LIVE] * 4
    # the backfill rows the live ones repeat, and the live repeat of a live row, are left out
    assert marked == {rows[0].id, rows[1].id, rows[7].id}
    after = history.totals(engine, everything)
    assert after.sessions == before.sessions + 1 and after.seconds == before.seconds + 50
    assert after == history.totals(engine, everything, from_records=True)
    page, total = history.sessions_page(engine, everything)
    assert total == 5 and [i.id for i in page] == [rows[6].id, rows[3].id, rows[2].id, rows[5].id, rows[4].id]
    # and a later backfill of the same period adds nothing
    assert insert(engine, old + live, BACKFILL) == 0
    assert history.totals(engine, everything) == after
