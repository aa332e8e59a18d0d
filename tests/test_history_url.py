"""gaze.history_url: /history's URL state read back leniently, the device filter by name, and the
session table's server-side sort paged through (against a model, on SQLite and PostgreSQL)."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from gaze import history
from gaze.db import IMPORT
from gaze.history import Filters, Range
from gaze.history_url import SORTS, HistoryQuery, order_by
from gaze.localtime import local_midnight_ms
from gaze.records import add_records
from gaze.sessions import SessionRecord

LABELS = {"10.0.0.3": "Tablet Kofi", "10.0.0.5": "library desk", "10.0.0.6": "Tablet Ama"}
NAMES = {"cdn_math": "Mathematics", "cdn_geo": "geography", "cdn_algebra": "Algebra Basics"}
IPS = [f"10.0.0.{n}" for n in range(1, 8)]
USERS = ["Guest", "anna@example.com", "Bob", "carol", "Dan"]


def test_a_query_round_trips_through_its_params() -> None:
    q = HistoryQuery("custom", "2026-01-02", "2026-01-05", "cdn_math", "Tablet 07", "anna", 3, "duration", False)
    parsed, notes = HistoryQuery.parse(q.params())
    assert (parsed, notes) == (q, [])
    assert HistoryQuery().params() == {"range": "today"}  # defaults are left out
    assert HistoryQuery(sort="module").params() == {"range": "today", "sort": "-module"}
    assert HistoryQuery.parse({"ip": "10.0.0.1"})[0].device == "10.0.0.1"  # the CSV export's name
    assert HistoryQuery.parse({})[0] == HistoryQuery()
    swapped = {"range": "custom", "date_from": "2026-03-02", "date_to": "2026-03-01"}  # taken the other way round
    assert HistoryQuery.parse(swapped) == (HistoryQuery("custom", "2026-03-02", "2026-03-01"), [])


@pytest.mark.parametrize(
    ("params", "expected", "note"),
    [
        ({"range": "decade"}, HistoryQuery(), "range 'decade'"),
        ({"range": "custom", "date_from": "2026-02-30", "date_to": "2026-03-01"}, HistoryQuery(), "dates"),
        ({"range": "custom", "date_from": "2026-03-02"}, HistoryQuery(), "choose both dates"),
        ({"range": "custom", "date_from": "1", "date_to": "9999-12-31"}, HistoryQuery(), "dates"),
        ({"page": "0"}, HistoryQuery(), "page '0'"),
        ({"page": "-1"}, HistoryQuery(), "page '-1'"),
        ({"page": "9" * 30}, HistoryQuery(), "page"),
        ({"page": "²"}, HistoryQuery(), "page"),
        ({"sort": "-colour"}, HistoryQuery(), "sort '-colour'"),
        ({"user": "a\x00b", "page": "2"}, HistoryQuery(page=2), "user filter"),
        ({"module": "x" * 500}, HistoryQuery(), "module filter 'xxxx"),
    ],
)
def test_bad_values_are_ignored_with_a_note(params: dict[str, str], expected: HistoryQuery, note: str) -> None:
    parsed, notes = HistoryQuery.parse(params)
    assert parsed == expected
    assert len(notes) == 1 and note in notes[0], notes
    assert len(notes[0]) < 200  # a long value is shortened in the note


def _records(seed: int) -> list[SessionRecord]:
    """Sessions over four local days, each with its own end time (the model's order is then total)."""
    rnd = random.Random(seed)
    first = local_midnight_ms(date.today() - timedelta(days=3))
    ends = rnd.sample(range(first, first + 4 * 86_400_000, 1000), 90)
    out = []
    for end in ends:
        seconds = rnd.randint(1, 3000)
        ip, user, module = rnd.choice(IPS), rnd.choice(USERS), rnd.choice(list(NAMES))
        out.append(SessionRecord(ip, user, module, end - seconds * 1000, end, "idle"))
    return out


def _sort_key(sort: str) -> Callable[[SessionRecord], Any]:
    shown: dict[str, Callable[[SessionRecord], Any]] = {
        "end": lambda r: r.end_ms,
        "user": lambda r: r.user.lower(),
        "device": lambda r: LABELS[r.ip].lower() if r.ip in LABELS else r.ip,
        "module": lambda r: NAMES[r.module].lower(),
        "duration": lambda r: r.end_ms - r.start_ms,
    }
    return lambda r: (shown[sort](r), r.end_ms)


@pytest.mark.parametrize("sort", list(SORTS))
def test_sorting_pages_through_every_column(engine: Engine, sort: str) -> None:
    records = _records(7)
    with Session(engine) as db, db.begin():
        assert add_records(db, records, IMPORT) == len(records)
    week = history.last_days(7)
    odd = Range(week.start_ms + 3_600_000, week.end_ms, "not at midnight")  # from the raw records
    cases = [
        (week, Filters()),
        (week, Filters(module="cdn_geo")),
        (week, Filters(ip="10.0.0.3", user="Bob")),
        (odd, Filters(user="Guest")),
    ]
    for rng, filters in cases:
        wanted = [
            r
            for r in records
            if rng.start_ms <= r.end_ms < rng.end_ms
            and filters.module in (None, r.module)
            and filters.ip in (None, r.ip)
            and filters.user in (None, r.user)
        ]
        for descending in (False, True):
            expected = sorted(wanted, key=_sort_key(sort), reverse=descending)
            order = order_by(sort, descending, LABELS, NAMES)
            got: list[tuple[int, str]] = []
            for page in range(1, 20):
                items, total = history.sessions_page(engine, rng, filters, page, 7, order)
                assert total == len(wanted)
                got += [(i.end_ms, i.ip) for i in items]
                if len(items) < 7:
                    break
            assert got == [(r.end_ms, r.ip) for r in expected], (sort, descending, filters)


def test_sorting_without_any_names(engine: Engine) -> None:
    records = _records(11)
    with Session(engine) as db, db.begin():
        add_records(db, records, IMPORT)
    week = history.last_days(7)
    items, total = history.sessions_page(engine, week, Filters(), 1, 200, order_by("module", False, {}, {}))
    assert total == len(records)
    assert [i.module for i in items] == sorted(r.module for r in records)
    with pytest.raises(ValueError, match="unknown sort"):
        order_by("colour", False, {}, {})
