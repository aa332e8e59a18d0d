"""History: the one insert path for session records, usage roll-ups, local-time ranges, queries (CSV: gaze.export).

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
    labelled with its own local hour (DST-safe: a 25-hour day has hour 1 twice, a 23-hour day no
    hour 2). Unfiltered queries read usage_dim / usage_hourly, one filter usage_dim (plus covering
    indexes of usage_daily for distinct counts), several filters usage_daily — activity by hour
    included, never the raw records. After a change of the machine's time zone,
    `rebuild_rollups` recomputes them.

Queries take an Engine and block (run them in a worker thread). Ranges that start and end at local
midnights (all the `Range` constructors) are answered from the roll-ups; any other range from the
raw records.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Select,
    and_,
    case,
    delete,
    distinct,
    exists,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from gaze.db import HOURS, IMPORT, LIVE, DuplicateRow, OutboxRow, SessionRow, UsageDaily, UsageDim, UsageHourly
from gaze.logfiles import clean_field
from gaze.logline import GUEST
from gaze.sessions import SessionRecord

__all__ = [
    "IMPORT",
    "IP",
    "MODULE",
    "USER",
    "Filters",
    "Range",
    "Rollup",
    "SessionItem",
    "Totals",
    "activity_by_hour",
    "add_records",
    "custom",
    "day_number",
    "day_of_number",
    "device_timeline",
    "last_days",
    "local_date",
    "local_midnight_ms",
    "minutes_by_module",
    "rebuild_rollups",
    "records_in",
    "sessions_page",
    "this_month",
    "this_year",
    "today",
    "totals",
    "yesterday",
]

HOUR_MS = 3_600_000
_SLOT_MS = 900_000  # time zone offsets and changes fall on quarter hours
_LOOKUP_CHUNK = 500  # end_ms values per duplicate lookup
_PG_LOCK_KEY = 0x67617A65  # "gaze": serialises add_records between processes on PostgreSQL

RECORDS = SessionRow.__table__
DAILY = UsageDaily.__table__
DIMS = UsageDim.__table__
HOURLY = UsageHourly.__table__
DUPLICATES = DuplicateRow.__table__
OUTBOX = OutboxRow.__table__

MODULE, IP, USER = "module", "ip", "user"  # usage_dim.dim
Key = tuple[int, str, str, str, int]  # end_ms, user_id, ip, module, duration_s


# ====================================================================== local time


class _LocalTime:
    """(day YYYYMMDD, hour, UTC offset ms) of a time, cached per quarter hour and per time zone."""

    def __init__(self) -> None:
        self._zone: tuple[object, ...] | None = None
        self._slots: dict[int, tuple[int, int, int]] = {}
        self._lock = threading.Lock()

    def check_zone(self) -> None:
        zone = (os.environ.get("TZ"), time.tzname, time.timezone, time.altzone)
        if zone != self._zone:
            with self._lock:
                self._slots = {}
                self._zone = zone

    def slot(self, ms: int) -> tuple[int, int, int]:
        key = ms // _SLOT_MS
        found = self._slots.get(key)
        if found is None:
            t = time.localtime(key * _SLOT_MS // 1000)
            found = (t.tm_year * 10000 + t.tm_mon * 100 + t.tm_mday, t.tm_hour, t.tm_gmtoff * 1000)
            if len(self._slots) > 200_000:
                self._slots = {}
            self._slots[key] = found
        return found


_local = _LocalTime()


def day_number(d: date) -> int:
    """A date as the YYYYMMDD integer the roll-ups use."""
    return d.year * 10000 + d.month * 100 + d.day


def day_of_number(n: int) -> date:
    return date(n // 10000, n // 100 % 100, n % 100)


def local_midnight_ms(d: date) -> int:
    """Epoch ms of the local midnight that starts day `d` (DST-safe: mktime of the local wall time)."""
    return int(datetime(d.year, d.month, d.day).timestamp()) * 1000


def local_date(ms: int) -> date:
    return datetime.fromtimestamp(ms / 1000).date()


def hour_pieces(start_ms: int, end_ms: int) -> Iterator[tuple[int, int]]:
    """(local hour, milliseconds) pieces of [start_ms, end_ms), cut at local hour boundaries."""
    t = start_ms
    slot = _local.slot
    while t < end_ms:
        _, hour, offset = slot(t)
        boundary = t + HOUR_MS - (t + offset) % HOUR_MS
        piece_end = boundary if boundary < end_ms else end_ms
        yield hour, piece_end - t
        t = piece_end


# ====================================================================== roll-ups


class Rollup:
    """Roll-up deltas gathered in memory, then added to the tables with one upsert per table."""

    def __init__(self) -> None:
        _local.check_zone()
        self.daily: dict[tuple[int, str, str, str], list[int]] = {}
        self.dims: dict[tuple[str, int, str], list[int]] = {}
        self.hourly: dict[tuple[int, int], list[int]] = {}

    def add(self, end_ms: int, duration_s: int, module: str, ip: str, user: str) -> None:
        day = _local.slot(end_ms)[0]
        key = (day, module, ip, user)
        row = self.daily.get(key)
        if row is None:
            row = self.daily[key] = [0] * 26
        row[0] += duration_s
        row[1] += 1
        hourly = self.hourly
        pieces = list(hour_pieces(end_ms - duration_s * 1000, end_ms))
        for hour, ms in pieces:
            row[2 + hour] += ms
            cell = hourly.get((day, hour))
            if cell is None:
                hourly[(day, hour)] = [ms, 1]
            else:
                cell[0] += ms
                cell[1] += 1
        dims = self.dims
        for dim_key in ((MODULE, day, module), (IP, day, ip), (USER, day, user)):
            dim = dims.get(dim_key)
            if dim is None:
                dim = dims[dim_key] = [0] * 26
            dim[0] += duration_s
            dim[1] += 1
            for hour, ms in pieces:
                dim[2 + hour] += ms

    def __len__(self) -> int:
        return len(self.daily)

    def write(self, conn: Connection) -> None:
        """Add the deltas to the roll-up tables (insert, or add to the existing row)."""
        if self.daily:
            rows = [
                {"day": k[0], "module": k[1], "ip": k[2], "user_id": k[3], "seconds": v[0], "sessions": v[1]}
                | dict(zip(HOURS, v[2:], strict=True))
                for k, v in self.daily.items()
            ]
            _upsert(conn, DAILY, ["day", "module", "ip", "user_id"], ["seconds", "sessions", *HOURS], rows)
        if self.dims:
            rows = [
                {"dim": k[0], "day": k[1], "value": k[2], "seconds": v[0], "sessions": v[1]}
                | dict(zip(HOURS, v[2:], strict=True))
                for k, v in self.dims.items()
            ]
            _upsert(conn, DIMS, ["dim", "day", "value"], ["seconds", "sessions", *HOURS], rows)
        if self.hourly:
            rows = [{"day": k[0], "hour": k[1], "ms": v[0], "sessions": v[1]} for k, v in self.hourly.items()]
            _upsert(conn, HOURLY, ["day", "hour"], ["ms", "sessions"], rows)
        self.daily, self.dims, self.hourly = {}, {}, {}


def _upsert(conn: Connection, table: Any, keys: list[str], adds: list[str], rows: list[dict[str, Any]]) -> None:
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    elif conn.dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported
        raise RuntimeError(f"unsupported database {conn.dialect.name}")
    stmt = dialect_insert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=keys, set_={c: table.c[c] + getattr(stmt.excluded, c) for c in adds}
    )
    for i in range(0, len(rows), 5000):
        conn.execute(stmt, rows[i : i + 5000])


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
    def key(self) -> Key:
        return (self.end_ms, self.user, self.ip, self.module, self.duration_s)


def _item(r: SessionRecord | SessionRow) -> _Item:
    """The row to store, with identities and module ids normalised as in the log files."""
    if isinstance(r, SessionRecord):
        user, ip, module = r.user, r.ip, r.module
    else:
        user, ip, module = r.user_id, r.ip, r.module
    return _Item(r.end_ms, r.start_ms, clean_field(user), clean_field(ip), clean_field(module), r.duration_s, r.reason)


def _lock(conn: Connection) -> None:
    """Hold the write lock from the start, so the duplicate check and the inserts are one atomic step
    (and SQLite never has to upgrade a stale read transaction)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
    else:
        conn.execute(text("DELETE FROM session_duplicate WHERE 0 = 1"))


def _counted(conn: Connection, end_values: Iterable[int]) -> dict[Key, tuple[int, str]]:
    """Counted (unmarked) rows with one of these end_ms values: key → (id, source); live rows win."""
    found: dict[Key, tuple[int, str]] = {}
    values = sorted(set(end_values))
    r = RECORDS.c
    for i in range(0, len(values), _LOOKUP_CHUNK):
        stmt = (
            select(r.id, r.end_ms, r.user_id, r.ip, r.module, r.duration_s, r.source)
            .where(r.end_ms.in_(values[i : i + _LOOKUP_CHUNK]), _not_marked())
            .order_by(r.id)
        )
        for row in conn.execute(stmt):
            key = (row.end_ms, row.user_id, row.ip, row.module, row.duration_s)
            if key not in found or (row.source == LIVE and found[key][1] != LIVE):
                found[key] = (row.id, row.source)
    return found


def add_records(
    db: Session | Connection,
    records: Sequence[SessionRecord] | Sequence[SessionRow],
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
    counted = _counted(conn, (i.end_ms for i in items))
    rollup = Rollup()
    live = source == LIVE
    keep: list[_Item] = []
    mark_old: list[int] = []  # stored rows a live record takes over from
    mark_new: list[int] = []  # positions in `keep` of live rows that repeat a live row
    fresh: list[int] = []  # positions in `keep` of rows that are counted for the first time
    takeover: list[tuple[int, int]] = []  # (stored row id, position in `keep` of the live row counted instead)
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
                mark_old.append(hit[0])
                takeover.append((hit[0], len(keep)))
            counted[key] = (-1, LIVE)
            keep.append(item)
            continue  # same key, same roll-up contribution: the figures do not change
        else:
            mark_new.append(len(keep))
            keep.append(item)
            continue
        fresh.append(len(keep))
        keep.append(item)
        rollup.add(item.end_ms, item.duration_s, item.module, item.ip, item.user)
    if not keep:
        return 0
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
    if mark_new or takeover or (outbox and fresh):
        ids = [
            row[0]
            for row in conn.execute(insert(RECORDS).returning(RECORDS.c.id, sort_by_parameter_order=True), values)
        ]
        mark_old.extend(ids[p] for p in mark_new)
        if outbox and fresh:
            queued = int(time.time() * 1000)
            rows = [{"record_id": ids[p], "end_ms": keep[p].end_ms, "queued_ms": queued} for p in fresh]
            conn.execute(insert(OUTBOX), rows)
        for old, p in takeover:  # the uplink's queue follows the counted row: queued (or shipped) once
            conn.execute(update(OUTBOX).where(OUTBOX.c.record_id == old).values(record_id=ids[p]))
    else:
        conn.execute(insert(RECORDS), values)
    if mark_old:
        conn.execute(insert(DUPLICATES), [{"record_id": i} for i in mark_old])
    rollup.write(conn)
    return len(keep)


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
        group: dict[Key, tuple[int, str]] = {}
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


# ====================================================================== ranges


@dataclass(frozen=True, slots=True)
class Range:
    """[start_ms, end_ms) in epoch ms; a session is in it when its end is."""

    start_ms: int
    end_ms: int
    label: str

    def days(self) -> tuple[int, int] | None:
        """(first, last) YYYYMMDD days when the range starts and ends at local midnights, else None."""
        if self.end_ms <= self.start_ms:
            return None
        try:
            first = local_date(self.start_ms)
            after = local_date(self.end_ms)
        except (ValueError, OverflowError, OSError):  # beyond what the calendar can say
            return None
        if local_midnight_ms(first) != self.start_ms or local_midnight_ms(after) != self.end_ms:
            return None
        return day_number(first), day_number(after - timedelta(days=1))

    @classmethod
    def of_days(cls, first: date, last: date, label: str) -> Range:
        return cls(local_midnight_ms(first), local_midnight_ms(last + timedelta(days=1)), label)


def _today(now: datetime | None) -> date:
    if now is None:
        return date.today()
    return (now.astimezone() if now.tzinfo is not None else now).date()


def today(now: datetime | None = None) -> Range:
    d = _today(now)
    return Range.of_days(d, d, "Today")


def yesterday(now: datetime | None = None) -> Range:
    d = _today(now) - timedelta(days=1)
    return Range.of_days(d, d, "Yesterday")


def last_days(n: int, now: datetime | None = None) -> Range:
    """Today and the n − 1 days before it."""
    if n < 1:
        raise ValueError("last_days needs at least one day")
    d = _today(now)
    return Range.of_days(d - timedelta(days=n - 1), d, f"Last {n} days")


def this_month(now: datetime | None = None) -> Range:
    """From the 1st of this month to the end of the month."""
    d = _today(now)
    first = d.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return Range.of_days(first, following - timedelta(days=1), "This month")


def this_year(now: datetime | None = None) -> Range:
    d = _today(now)
    return Range.of_days(date(d.year, 1, 1), date(d.year, 12, 31), "This year")


def custom(date_from: date, date_to: date) -> Range:
    """Both dates included (given the other way round, they are swapped)."""
    if date_to < date_from:
        date_from, date_to = date_to, date_from
    label = date_from.isoformat() if date_from == date_to else f"{date_from.isoformat()} – {date_to.isoformat()}"
    return Range.of_days(date_from, date_to, label)


# ====================================================================== queries


@dataclass(frozen=True, slots=True)
class Filters:
    """Exact module slug, device IP and user id; None = all."""

    module: str | None = None
    ip: str | None = None
    user: str | None = None

    def __bool__(self) -> bool:
        return self.module is not None or self.ip is not None or self.user is not None


NO_FILTERS = Filters()


@dataclass(frozen=True, slots=True)
class Totals:
    seconds: int
    sessions: int
    devices: int  # distinct IP addresses
    users: int  # distinct signed-in users (Guest is not counted)


@dataclass(frozen=True, slots=True)
class SessionItem:
    id: int
    start_ms: int
    end_ms: int
    user: str
    ip: str
    module: str
    duration_s: int
    source: str


def _not_marked() -> ColumnElement[bool]:
    return ~exists().where(DUPLICATES.c.record_id == RECORDS.c.id)


def _filtered(stmt: Select[Any], table: Any, filters: Filters) -> Select[Any]:
    if filters.module is not None:
        stmt = stmt.where(table.c.module == filters.module)
    if filters.ip is not None:
        stmt = stmt.where(table.c.ip == filters.ip)
    if filters.user is not None:
        stmt = stmt.where(table.c.user_id == filters.user)
    return stmt


def _in_days(stmt: Select[Any], table: Any, days: tuple[int, int]) -> Select[Any]:
    return stmt.where(table.c.day >= days[0], table.c.day <= days[1])


def _raw(stmt: Select[Any], rng: Range, filters: Filters) -> Select[Any]:
    r = RECORDS.c
    stmt = stmt.where(r.end_ms >= rng.start_ms, r.end_ms < rng.end_ms, _not_marked())
    return _filtered(stmt, RECORDS, filters)


def records_in(rng: Range, filters: Filters, *columns: Any) -> Select[Any]:
    """SELECT `columns` of the counted records ending in `rng`, oldest end first (the CSV export)."""
    return _raw(select(*columns), rng, filters).order_by(RECORDS.c.end_ms, RECORDS.c.id)


def _users(column: Any) -> Any:
    return func.count(distinct(case((column != GUEST, column))))


def _single(filters: Filters) -> tuple[str, str] | None:
    """(dim, value) when exactly one of the filters is set."""
    chosen = [(d, v) for d, v in ((MODULE, filters.module), (IP, filters.ip), (USER, filters.user)) if v is not None]
    return chosen[0] if len(chosen) == 1 else None


def _dim(stmt: Select[Any], days: tuple[int, int], dim: str, value: str | None = None) -> Select[Any]:
    stmt = stmt.where(DIMS.c.dim == dim, DIMS.c.day >= days[0], DIMS.c.day <= days[1])
    return stmt if value is None else stmt.where(DIMS.c.value == value)


def _daily(stmt: Select[Any], days: tuple[int, int], filters: Filters) -> Select[Any]:
    return _filtered(_in_days(stmt, DAILY, days), DAILY, filters)


def totals(engine: Engine, rng: Range, filters: Filters = NO_FILTERS, *, from_records: bool = False) -> Totals:
    """Seconds, sessions, distinct devices and distinct signed-in users of the sessions ending in `rng`.

    Unfiltered: usage_dim only; one filter: usage_dim for the sums, usage_daily's covering index for
    the distinct counts; several filters: usage_daily."""
    days = None if from_records else rng.days()
    single = _single(filters)
    with engine.connect() as conn:
        if days is None:
            r = RECORDS.c
            stmt = select(func.sum(r.duration_s), func.count(), func.count(distinct(r.ip)), _users(r.user_id))
            seconds, sessions, devices, users = conn.execute(_raw(stmt, rng, filters)).one()
        elif not filters:
            sums = select(func.sum(DIMS.c.seconds), func.sum(DIMS.c.sessions))
            seconds, sessions = conn.execute(_dim(sums, days, MODULE)).one()
            devices = conn.execute(_dim(select(func.count(distinct(DIMS.c.value))), days, IP)).scalar()
            users = conn.execute(
                _dim(select(func.count(distinct(DIMS.c.value))), days, USER).where(DIMS.c.value != GUEST)
            ).scalar()
        elif single is not None:
            sums = select(func.sum(DIMS.c.seconds), func.sum(DIMS.c.sessions))
            seconds, sessions = conn.execute(_dim(sums, days, *single)).one()
            devices, users = conn.execute(
                _daily(select(func.count(distinct(DAILY.c.ip)), _users(DAILY.c.user_id)), days, filters)
            ).one()
        else:
            stmt = select(
                func.sum(DAILY.c.seconds),
                func.sum(DAILY.c.sessions),
                func.count(distinct(DAILY.c.ip)),
                _users(DAILY.c.user_id),
            )
            seconds, sessions, devices, users = conn.execute(_daily(stmt, days, filters)).one()
    return Totals(int(seconds or 0), int(sessions or 0), int(devices or 0), int(users or 0))


def minutes_by_module(
    engine: Engine, rng: Range, filters: Filters = NO_FILTERS, top: int = 15, *, from_records: bool = False
) -> list[tuple[str, float]]:
    """The `top` modules by time spent in sessions ending in `rng`: (module slug, minutes), most first."""
    days = None if from_records else rng.days()
    if days is None:
        seconds = func.sum(RECORDS.c.duration_s)
        module = RECORDS.c.module
        stmt = _raw(select(module, seconds), rng, filters)
    elif filters.ip is None and filters.user is None:
        seconds = func.sum(DIMS.c.seconds)
        module = DIMS.c.value
        stmt = _dim(select(module, seconds), days, MODULE, filters.module)
    else:
        seconds = func.sum(DAILY.c.seconds)
        module = DAILY.c.module
        stmt = _daily(select(module, seconds), days, filters)
    stmt = stmt.group_by(module).order_by(seconds.desc(), module).limit(top)
    with engine.connect() as conn:
        return [(m, int(s) / 60) for m, s in conn.execute(stmt)]


def activity_by_hour(
    engine: Engine, rng: Range, filters: Filters = NO_FILTERS, *, from_records: bool = False
) -> list[float]:
    """Minutes per local hour of day (24 values) of the sessions ending in `rng`, each session spread
    over the local hours it spanned. From usage_hourly (unfiltered), usage_dim (one filter) or
    usage_daily's hour columns (several filters); never from the raw records for whole days."""
    days = None if from_records else rng.days()
    single = _single(filters)
    with engine.connect() as conn:
        if days is None:
            _local.check_zone()
            r = RECORDS.c
            result = conn.execute(
                _raw(select(r.end_ms, r.duration_s), rng, filters).execution_options(yield_per=10_000)
            )
            counts = [0] * 24
            for end_ms, duration_s in result:
                for hour, ms in hour_pieces(end_ms - duration_s * 1000, end_ms):
                    counts[hour] += ms
            return [ms / 60_000 for ms in counts]
        if not filters:
            out = [0.0] * 24
            stmt = _in_days(select(HOURLY.c.hour, func.sum(HOURLY.c.ms)), HOURLY, days).group_by(HOURLY.c.hour)
            for hour, ms in conn.execute(stmt):
                out[hour] = int(ms) / 60_000
            return out
        if single is not None:
            sums = conn.execute(_dim(select(*(func.sum(DIMS.c[h]) for h in HOURS)), days, *single)).one()
        else:
            sums = conn.execute(_daily(select(*(func.sum(DAILY.c[h]) for h in HOURS)), days, filters)).one()
    return [int(ms or 0) / 60_000 for ms in sums]


def _items(rows: Iterable[Any]) -> list[SessionItem]:
    return [SessionItem(*row) for row in rows]


_ITEM_COLUMNS = (
    RECORDS.c.id,
    RECORDS.c.start_ms,
    RECORDS.c.end_ms,
    RECORDS.c.user_id,
    RECORDS.c.ip,
    RECORDS.c.module,
    RECORDS.c.duration_s,
    RECORDS.c.source,
)


def sessions_page(
    engine: Engine,
    rng: Range,
    filters: Filters = NO_FILTERS,
    page: int = 1,
    page_size: int = 50,
    order: Sequence[Any] | None = None,
) -> tuple[list[SessionItem], int]:
    """Page `page` (1 = newest) of the sessions ending in `rng`, newest first, and their total count.
    `order`: another ORDER BY (gaze.history_query.order_by); it ends with the record id.

    The count comes from the roll-ups. With a filter, the per-day counts of the roll-up also tell
    which days hold the page, so only those days' records are scanned (the end_ms index), however
    rare the filtered device, user or module is (newest first only)."""
    if page < 1 or page_size < 1:
        raise ValueError("page and page_size start at 1")
    offset = (page - 1) * page_size
    r = RECORDS.c
    by_end = order is None
    order = (r.end_ms.desc(), r.id.desc()) if order is None else tuple(order)
    days = rng.days()
    with engine.connect() as conn:
        if days is None:
            total = conn.execute(_raw(select(func.count()), rng, filters)).scalar_one()
            stmt = _raw(select(*_ITEM_COLUMNS), rng, filters).order_by(*order).limit(page_size).offset(offset)
            return _items(conn.execute(stmt)), int(total)
        if not filters:
            total = conn.execute(_dim(select(func.sum(DIMS.c.sessions)), days, MODULE)).scalar() or 0
            if offset >= total:
                return [], int(total)
            stmt = _raw(select(*_ITEM_COLUMNS), rng, filters).order_by(*order).limit(page_size).offset(offset)
            return _items(conn.execute(stmt)), int(total)
        single = _single(filters)
        if single is not None:
            counts = _dim(select(DIMS.c.day, func.sum(DIMS.c.sessions)), days, *single).group_by(DIMS.c.day)
            per_day = conn.execute(counts.order_by(DIMS.c.day.desc())).all()
        else:
            counts = _daily(select(DAILY.c.day, func.sum(DAILY.c.sessions)), days, filters).group_by(DAILY.c.day)
            per_day = conn.execute(counts.order_by(DAILY.c.day.desc())).all()
        total = sum(int(n) for _, n in per_day)
        if not by_end:
            stmt = _raw(select(*_ITEM_COLUMNS), rng, filters).order_by(*order).limit(page_size).offset(offset)
            return _items(conn.execute(stmt)), total
        chosen: list[int] = []
        seen = skip = 0
        for day, n in per_day:
            if seen + n <= offset:
                seen += int(n)
                continue
            if not chosen:
                skip = offset - seen
            chosen.append(day)
            seen += int(n)
            if seen >= offset + page_size:
                break
        if not chosen:
            return [], total
        windows = []
        for first, last in _runs(sorted(chosen)):
            start = max(local_midnight_ms(day_of_number(first)), rng.start_ms)
            end = min(local_midnight_ms(day_of_number(last) + timedelta(days=1)), rng.end_ms)
            windows.append(and_(r.end_ms >= start, r.end_ms < end))
        stmt = _filtered(select(*_ITEM_COLUMNS).where(or_(*windows), _not_marked()), RECORDS, filters)
        stmt = stmt.order_by(*order).limit(page_size).offset(skip)
        return _items(conn.execute(stmt)), total


def _runs(days: list[int]) -> Iterator[tuple[int, int]]:
    """Consecutive calendar days merged into (first, last) runs."""
    first = last = None
    for d in days:
        if last is not None and day_of_number(d) - day_of_number(last) == timedelta(days=1):
            last = d
            continue
        if first is not None and last is not None:
            yield first, last
        first = last = d
    if first is not None and last is not None:
        yield first, last


def device_timeline(engine: Engine, ip: str, day: date) -> list[SessionItem]:
    """The sessions of device `ip` that ended on local day `day`, in start order."""
    rng = Range.of_days(day, day, day.isoformat())
    r = RECORDS.c
    stmt = _raw(select(*_ITEM_COLUMNS), rng, Filters(ip=ip)).order_by(r.start_ms, r.id)
    with engine.connect() as conn:
        return _items(conn.execute(stmt))
