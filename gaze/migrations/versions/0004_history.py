"""history: usage roll-ups (daily, per dimension, hourly), duplicate markers, device labels; roll-ups filled from session_record

Frozen: the data step is its own copy of the roll-up code as it was when this revision was written
(no imports of the application's code), so this migration does not change when the live code does.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")
HOURS = [f"h{h:02d}" for h in range(24)]
HOUR_MS = 3_600_000
SLOT_MS = 900_000  # time zone offsets and changes fall on quarter hours
LIVE = "live"
BATCH = 20_000


def upgrade() -> None:
    op.create_table(
        "usage_daily",
        sa.Column("day", sa.Integer, nullable=False),
        sa.Column("module", sa.String(1024), nullable=False),
        sa.Column("ip", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(512), nullable=False),
        sa.Column("seconds", sa.BigInteger, nullable=False),
        sa.Column("sessions", sa.Integer, nullable=False),
        *[sa.Column(h, sa.BigInteger, nullable=False) for h in HOURS],
        sa.PrimaryKeyConstraint("day", "module", "ip", "user_id"),
    )
    op.create_index("ix_usage_daily_ip_day", "usage_daily", ["ip", "day", "user_id"])
    op.create_index("ix_usage_daily_user_day", "usage_daily", ["user_id", "day", "ip"])
    op.create_index("ix_usage_daily_module_day", "usage_daily", ["module", "day", "ip", "user_id"])
    op.create_table(
        "usage_dim",
        sa.Column("dim", sa.String(8), nullable=False),
        sa.Column("day", sa.Integer, nullable=False),
        sa.Column("value", sa.String(1024), nullable=False),
        sa.Column("seconds", sa.BigInteger, nullable=False),
        sa.Column("sessions", sa.Integer, nullable=False),
        *[sa.Column(h, sa.BigInteger, nullable=False) for h in HOURS],
        sa.PrimaryKeyConstraint("dim", "day", "value"),
    )
    op.create_index("ix_usage_dim_value_day", "usage_dim", ["dim", "value", "day"])
    op.create_table(
        "usage_hourly",
        sa.Column("day", sa.Integer, nullable=False),
        sa.Column("hour", sa.Integer, nullable=False),
        sa.Column("ms", sa.BigInteger, nullable=False),
        sa.Column("sessions", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("day", "hour"),
    )
    op.create_table("session_duplicate", sa.Column("record_id", ID, primary_key=True, autoincrement=False))
    op.create_table(
        "device_label",
        sa.Column("ip", sa.String(64), primary_key=True),
        sa.Column("label", sa.String(40), nullable=False),
        sa.Column("updated_ms", sa.BigInteger, nullable=False),
    )
    # Data step: the roll-ups of the records already stored, read in end_ms order in batches (the
    # rules add_records uses, so the figures are the ones later inserts keep up to date).
    _fill_rollups(op.get_bind())


def downgrade() -> None:
    op.drop_table("device_label")
    op.drop_table("session_duplicate")
    op.drop_table("usage_hourly")
    op.drop_table("usage_dim")
    op.drop_table("usage_daily")


# ---------------------------------------------------------------- frozen data step


def _local(ms: int, cache: dict[int, tuple[int, int, int]]) -> tuple[int, int, int]:
    """(day YYYYMMDD, local hour, UTC offset ms) of the quarter hour holding `ms`."""
    key = ms // SLOT_MS
    found = cache.get(key)
    if found is None:
        t = time.localtime(key * SLOT_MS // 1000)
        found = cache[key] = (t.tm_year * 10000 + t.tm_mon * 100 + t.tm_mday, t.tm_hour, t.tm_gmtoff * 1000)
    return found


def _pieces(start_ms: int, end_ms: int, cache: dict[int, tuple[int, int, int]]) -> Iterator[tuple[int, int]]:
    """(local hour, ms) pieces of [start_ms, end_ms), cut at local hour boundaries."""
    t = start_ms
    while t < end_ms:
        _, hour, offset = _local(t, cache)
        boundary = t + HOUR_MS - (t + offset) % HOUR_MS
        piece_end = min(boundary, end_ms)
        yield hour, piece_end - t
        t = piece_end


class _Rollup:
    def __init__(self) -> None:
        self.cache: dict[int, tuple[int, int, int]] = {}
        self.daily: dict[tuple[int, str, str, str], list[int]] = {}
        self.dims: dict[tuple[str, int, str], list[int]] = {}
        self.hourly: dict[tuple[int, int], list[int]] = {}

    def add(self, end_ms: int, duration_s: int, module: str, ip: str, user: str) -> None:
        day = _local(end_ms, self.cache)[0]
        pieces = list(_pieces(end_ms - duration_s * 1000, end_ms, self.cache))
        rows = [self.daily.setdefault((day, module, ip, user), [0] * 26)]
        rows += [
            self.dims.setdefault(k, [0] * 26) for k in (("module", day, module), ("ip", day, ip), ("user", day, user))
        ]
        for row in rows:
            row[0] += duration_s
            row[1] += 1
            for hour, ms in pieces:
                row[2 + hour] += ms
        for hour, ms in pieces:
            cell = self.hourly.setdefault((day, hour), [0, 0])
            cell[0] += ms
            cell[1] += 1

    def write(self, conn: sa.Connection, tables: dict[str, sa.Table]) -> None:
        daily = [
            {"day": k[0], "module": k[1], "ip": k[2], "user_id": k[3], "seconds": v[0], "sessions": v[1]}
            | dict(zip(HOURS, v[2:], strict=True))
            for k, v in self.daily.items()
        ]
        dims = [
            {"dim": k[0], "day": k[1], "value": k[2], "seconds": v[0], "sessions": v[1]}
            | dict(zip(HOURS, v[2:], strict=True))
            for k, v in self.dims.items()
        ]
        hourly = [{"day": k[0], "hour": k[1], "ms": v[0], "sessions": v[1]} for k, v in self.hourly.items()]
        counts = ["seconds", "sessions", *HOURS]
        _upsert(conn, tables["usage_daily"], ["day", "module", "ip", "user_id"], counts, daily)
        _upsert(conn, tables["usage_dim"], ["dim", "day", "value"], counts, dims)
        _upsert(conn, tables["usage_hourly"], ["day", "hour"], ["ms", "sessions"], hourly)
        self.daily, self.dims, self.hourly = {}, {}, {}


def _upsert(conn: sa.Connection, table: sa.Table, keys: list[str], adds: list[str], rows: list[dict[str, Any]]) -> None:
    """Insert the rows, or add their counts to the rows already there."""
    if not rows:
        return
    stmt: Any
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt = pg_insert(table)
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt = sqlite_insert(table)
    stmt = stmt.on_conflict_do_update(index_elements=keys, set_={c: table.c[c] + stmt.excluded[c] for c in adds})
    for i in range(0, len(rows), 5000):
        conn.execute(stmt, rows[i : i + 5000])


def _fill_rollups(conn: sa.Connection) -> None:
    """The roll-ups and duplicate marks of every session_record row, read in (end_ms, id) order
    BATCH at a time; equal records share their end_ms, so they always meet in one end_ms group.
    Of equal records the first is counted; a live one takes over from a non-live one."""
    meta = sa.MetaData()
    names = ("session_record", "session_duplicate", "usage_daily", "usage_dim", "usage_hourly")
    tables = {name: sa.Table(name, meta, autoload_with=conn) for name in names}
    marks_table = tables["session_duplicate"]
    r = tables["session_record"].c
    columns = (r.id, r.end_ms, r.user_id, r.ip, r.module, r.duration_s, r.source)
    rollup = _Rollup()
    marks: list[int] = []

    def process(rows: Sequence[Any]) -> None:
        group: dict[tuple[int, str, str, str, int], tuple[int, str]] = {}
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
        if len(rollup.daily) > 100_000:
            rollup.write(conn, tables)
        if marks:
            conn.execute(marks_table.insert(), [{"record_id": i} for i in marks])
            marks.clear()

    since: int | None = None
    strict = False
    while True:
        stmt = sa.select(*columns).order_by(r.end_ms, r.id).limit(BATCH)
        if since is not None:
            stmt = stmt.where(r.end_ms > since if strict else r.end_ms >= since)
        rows = conn.execute(stmt).all()
        if len(rows) < BATCH:
            process(rows)
            break
        last = rows[-1].end_ms
        complete = [row for row in rows if row.end_ms != last]
        if complete:
            process(complete)
            since, strict = last, False
        else:  # one end_ms value fills the whole batch: take that group whole
            process(conn.execute(sa.select(*columns).where(r.end_ms == last).order_by(r.id)).all())
            since, strict = last, True
    rollup.write(conn, tables)
