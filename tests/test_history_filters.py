"""Which records a History query reads (gaze.history_filters): the filters, and the counted records
that end inside a range, oldest end first — on SQLite and the real PostgreSQL server."""

from __future__ import annotations

from sqlalchemy import Engine

from gaze.db import BACKFILL, LIVE
from gaze.history_filters import NO_FILTERS, Filters, records_in
from gaze.localtime import Range
from gaze.records import RECORDS
from tests.test_history import MIN, insert, rec

T = 1_800_000_000_000


def ends(engine: Engine, rng: Range, filters: Filters) -> list[tuple[int, str, str, str]]:
    c = RECORDS.c
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(records_in(rng, filters, c.end_ms, c.module, c.ip, c.user_id))]


def test_a_filter_is_true_when_any_part_is_set() -> None:
    assert not NO_FILTERS and not Filters()
    assert Filters(module="cdn_math") and Filters(ip="10.0.0.1") and Filters(user="anna")


def test_records_in_a_range_with_filters(engine: Engine) -> None:
    insert(
        engine,
        [
            rec(T + 2 * MIN, 30, "10.0.0.1", "anna", "cdn_math"),
            rec(T, 30, "10.0.0.2", "Guest", "cdn_math"),
            rec(T + MIN, 30, "10.0.0.1", "anna", "cdn_bio"),
            rec(T + 10 * MIN, 30, "10.0.0.1", "anna", "cdn_math"),  # the range's end: not in it
            rec(T - 1, 30, "10.0.0.1", "anna", "cdn_math"),  # before it
        ],
        BACKFILL,
    )
    rng = Range(T, T + 10 * MIN, "x")
    assert [e[0] for e in ends(engine, rng, NO_FILTERS)] == [T, T + MIN, T + 2 * MIN]  # oldest end first
    assert ends(engine, rng, Filters(module="cdn_math", user="anna")) == [(T + 2 * MIN, "cdn_math", "10.0.0.1", "anna")]
    assert [e[0] for e in ends(engine, rng, Filters(ip="10.0.0.1"))] == [T + MIN, T + 2 * MIN]
    assert ends(engine, rng, Filters(module="cdn_geo")) == []


def test_records_marked_as_repeats_are_not_read(engine: Engine) -> None:
    first = rec(T, 30)
    insert(engine, [first], BACKFILL)
    insert(engine, [first], LIVE)  # the live row is kept for the log writer; the backfill one is marked
    assert len(ends(engine, Range(T - MIN, T + MIN, "x"), NO_FILTERS)) == 1
