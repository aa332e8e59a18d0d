"""History queries: totals, minutes by module, activity by hour, pages of sessions, a device's day —
what the History page and the CSV export (gaze.export) read about the records that gaze.records
stores, by the local days of DESIGN §4 (a session is in a range when its end is).

Queries take an Engine and block (run them in a worker thread). Ranges that start and end at local
midnights (all the `Range` constructors of gaze.localtime, re-exported here for the pages) are
answered from the roll-ups — unfiltered from usage_dim / usage_hourly, one filter from usage_dim
(plus covering indexes of usage_daily for distinct counts), several filters from usage_daily,
activity by hour included — never from the raw records; any other range from the raw records.
The filters and the WHERE clauses they make are gaze/history_filters.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, distinct, func, or_, select

from gaze.db import HOURS
from gaze.history_filters import (
    NO_FILTERS,
    Filters,
    _daily,
    _dim,
    _filtered,
    _in_days,
    _raw,
    _single,
    _users,
    records_in,
)
from gaze.localtime import (
    Range,
    custom,
    day_of_number,
    hour_pieces,
    last_days,
    local_midnight_ms,
    local_time,
    this_month,
    this_year,
    today,
    yesterday,
)
from gaze.logline import GUEST
from gaze.records import RECORDS, not_marked
from gaze.rollups import DAILY, DIMS, HOURLY, IP, MODULE, USER

__all__ = [
    "NO_FILTERS",
    "Filters",
    "Range",
    "SessionItem",
    "Totals",
    "activity_by_hour",
    "custom",
    "device_timeline",
    "last_days",
    "minutes_by_module",
    "records_in",
    "sessions_page",
    "this_month",
    "this_year",
    "today",
    "totals",
    "yesterday",
]


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
            local_time.check_zone()
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
    `order`: another ORDER BY (gaze.history_url.order_by); it ends with the record id.

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
        per_day = _per_day(conn, days, filters)
        total = sum(n for _, n in per_day)
        if not by_end:
            stmt = _raw(select(*_ITEM_COLUMNS), rng, filters).order_by(*order).limit(page_size).offset(offset)
            return _items(conn.execute(stmt)), total
        chosen, skip = _page_days(per_day, offset, page_size)
        if not chosen:
            return [], total
        windows = []
        for first, last in _runs(sorted(chosen)):
            start = max(local_midnight_ms(day_of_number(first)), rng.start_ms)
            end = min(local_midnight_ms(day_of_number(last) + timedelta(days=1)), rng.end_ms)
            windows.append(and_(r.end_ms >= start, r.end_ms < end))
        stmt = _filtered(select(*_ITEM_COLUMNS).where(or_(*windows), not_marked()), RECORDS, filters)
        stmt = stmt.order_by(*order).limit(page_size).offset(skip)
        return _items(conn.execute(stmt)), total


def _per_day(conn: Connection, days: tuple[int, int], filters: Filters) -> list[tuple[int, int]]:
    """(day, sessions) of the filtered sessions, newest day first, from the roll-ups."""
    single = _single(filters)
    if single is not None:
        counts = _dim(select(DIMS.c.day, func.sum(DIMS.c.sessions)), days, *single).group_by(DIMS.c.day)
        rows = conn.execute(counts.order_by(DIMS.c.day.desc())).all()
    else:
        counts = _daily(select(DAILY.c.day, func.sum(DAILY.c.sessions)), days, filters).group_by(DAILY.c.day)
        rows = conn.execute(counts.order_by(DAILY.c.day.desc())).all()
    return [(int(day), int(n)) for day, n in rows]


def _page_days(per_day: list[tuple[int, int]], offset: int, page_size: int) -> tuple[list[int], int]:
    """The days (newest first) that hold the page's sessions, and how many of the first day's to skip."""
    chosen: list[int] = []
    seen = skip = 0
    for day, n in per_day:
        if seen + n <= offset:
            seen += n
            continue
        if not chosen:
            skip = offset - seen
        chosen.append(day)
        seen += n
        if seen >= offset + page_size:
            break
    return chosen, skip


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
