"""normalise every control character (U+0000-U+001F, U+007F) in session_record identities and
module ids to one space, as the log files now do (DESIGN §4, issue 17)

0006 did this for CR, LF and TAB. Earlier versions stored the other control characters as they were
(SQLite kept a NUL; the log line kept it too, the CSV and the uplink as well), while the same value
now reads with a space everywhere. This data step rewrites such rows and keeps the roll-ups equal to
the counted rows, exactly as 0006 did:
- usage_daily / usage_dim rows under a raw key move (added) to the normalised key;
- when a rewritten row now repeats another counted row (the import of its own log line), the one
  that loses (a non-live row to a live one, else the newer) is marked in session_duplicate and its
  share is taken out of the roll-ups (hours split at local hour boundaries, as when it was added).
Rows are found by one predicate per dialect that never sends a NUL to the database (PostgreSQL
refuses one in any text, SQLite's LIKE and GLOB stop at one): a regular expression on PostgreSQL,
`instr` on the bytes for NUL plus a GLOB class on SQLite. Batches already built for the uplink keep
their bytes (a retry must send the same object). Frozen: no imports of the application's code. On a
clean database it costs one scan of session_record and changes nothing. Downgrade leaves the data.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

HOURS = [f"h{h:02d}" for h in range(24)]
HOUR_MS = 3_600_000
CONTROL_TO_SPACE = str.maketrans(dict.fromkeys([*range(0x20), 0x7F], " "))
COUNTS = ["seconds", "sessions", *HOURS]


def _clean(value: str) -> str:
    return value.translate(CONTROL_TO_SPACE)


def _dirty(column: sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
    """Rows whose `column` holds a control character."""
    if op.get_bind().dialect.name == "postgresql":  # a NUL cannot be in PostgreSQL text at all
        return column.op("~")(sa.literal(r"[\x01-\x1f\x7f]"))
    nul = sa.func.instr(sa.cast(column, sa.LargeBinary), sa.literal(b"\x00", sa.LargeBinary)) > 0
    return sa.or_(nul, column.op("GLOB")(sa.literal("*[\x01-\x1f\x7f]*")))


def _local(ms: int) -> tuple[int, int, int]:
    t = time.localtime(ms // 1000)
    return t.tm_year * 10000 + t.tm_mon * 100 + t.tm_mday, t.tm_hour, t.tm_gmtoff * 1000


def _pieces(start_ms: int, end_ms: int) -> list[tuple[int, int]]:
    out, t = [], start_ms
    while t < end_ms:
        _, hour, offset = _local(t - t % 900_000)
        boundary = t + HOUR_MS - (t + offset) % HOUR_MS
        out.append((hour, min(boundary, end_ms) - t))
        t = min(boundary, end_ms)
    return out


def _add(conn: sa.Connection, table: sa.Table, key: dict[str, Any], counts: dict[str, int]) -> None:
    """Add `counts` to the row of `key` (created when missing)."""
    where = sa.and_(*(table.c[k] == v for k, v in key.items()))
    if conn.execute(sa.select(sa.func.count()).select_from(table).where(where)).scalar():
        conn.execute(table.update().where(where).values({c: table.c[c] + n for c, n in counts.items()}))
    else:
        conn.execute(table.insert().values({**key, **{c: counts.get(c, 0) for c in COUNTS}}))


def _move_rollups(conn: sa.Connection, table: sa.Table, columns: list[str]) -> None:
    """Rows under a raw key: added to the normalised key, then removed."""
    rows = conn.execute(sa.select(table).where(sa.or_(*(_dirty(table.c[c]) for c in columns)))).mappings().all()
    for row in rows:
        keys = [c.name for c in table.primary_key.columns]
        conn.execute(table.delete().where(sa.and_(*(table.c[k] == row[k] for k in keys))))
        key = {k: (_clean(row[k]) if k in columns else row[k]) for k in keys}
        _add(conn, table, key, {c: int(row[c]) for c in COUNTS})


def _uncount(conn: sa.Connection, tables: dict[str, sa.Table], row: Any) -> None:
    """Take one record's share out of the roll-ups (it was added when the record was inserted)."""
    day = _local(row.end_ms)[0]
    pieces = _pieces(row.end_ms - row.duration_s * 1000, row.end_ms)
    share = {"seconds": -row.duration_s, "sessions": -1}
    for hour, ms in pieces:
        share[HOURS[hour]] = share.get(HOURS[hour], 0) - ms
    daily_key = {"day": day, "module": row.module, "ip": row.ip, "user_id": row.user_id}
    _add(conn, tables["usage_daily"], daily_key, share)
    for dim, value in (("module", row.module), ("ip", row.ip), ("user", row.user_id)):
        _add(conn, tables["usage_dim"], {"dim": dim, "day": day, "value": value}, share)
    hourly = tables["usage_hourly"]
    for hour, ms in pieces:
        where = sa.and_(hourly.c.day == day, hourly.c.hour == hour)
        conn.execute(hourly.update().where(where).values(ms=hourly.c.ms - ms, sessions=hourly.c.sessions - 1))


def upgrade() -> None:
    conn = op.get_bind()
    meta = sa.MetaData()
    names = ("session_record", "session_duplicate", "usage_daily", "usage_dim", "usage_hourly")
    tables = {name: sa.Table(name, meta, autoload_with=conn) for name in names}
    records, marks = tables["session_record"], tables["session_duplicate"]
    r = records.c
    fields = ("user_id", "ip", "module")
    dirty = conn.execute(sa.select(r.id, *(r[f] for f in fields)).where(sa.or_(*(_dirty(r[f]) for f in fields)))).all()
    if not dirty:
        return
    for row in dirty:
        conn.execute(records.update().where(r.id == row.id).values({f: _clean(getattr(row, f)) for f in fields}))
    _move_rollups(conn, tables["usage_daily"], ["module", "ip", "user_id"])
    _move_rollups(conn, tables["usage_dim"], ["value"])

    # Rewritten rows that now repeat a counted row: keep one (a live row wins, else the older).
    marked = sa.exists().where(marks.c.record_id == r.id)
    columns = (r.id, r.end_ms, r.user_id, r.ip, r.module, r.duration_s, r.source)
    emptied = False
    for row_id in sorted({row.id for row in dirty}):
        me = conn.execute(sa.select(*columns).where(r.id == row_id, ~marked)).first()
        if me is None:
            continue
        same = sa.and_(*(r[c] == getattr(me, c) for c in ("end_ms", "user_id", "ip", "module", "duration_s")))
        twins = conn.execute(sa.select(*columns).where(same, ~marked).order_by(r.id)).all()
        if len(twins) < 2:
            continue
        keep = next((t for t in twins if t.source == "live"), twins[0])
        for twin in twins:
            if twin.id != keep.id:
                conn.execute(marks.insert().values(record_id=twin.id))
                _uncount(conn, tables, twin)
                emptied = True
    if emptied:  # a roll-up row that no counted record is left in would still count its device/user
        for name in ("usage_daily", "usage_dim", "usage_hourly"):
            conn.execute(tables[name].delete().where(tables[name].c.sessions <= 0))


def downgrade() -> None:
    pass
