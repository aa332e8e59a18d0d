"""gaze.rollups on SQLite and the real PostgreSQL server: deltas gathered in memory per local day,
module, device and user, cut at local hours, then added to the roll-up tables (insert or add)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from gaze.db import UsageDaily, UsageDim, UsageHourly
from gaze.rollups import IP, MODULE, USER, Rollup

MIN = 60_000
T = 1_777_905_000_000  # 2026-05-04 14:30 UTC


def daily(engine: Engine) -> list[tuple[int, str, str, str, int, int, int, int]]:
    with Session(engine) as db:
        return [
            (r.day, r.module, r.ip, r.user_id, r.seconds, r.sessions, r.h14, r.h15)
            for r in db.scalars(select(UsageDaily).order_by(UsageDaily.module, UsageDaily.ip))
        ]


@pytest.mark.usefixtures("utc_tz")
def test_a_session_is_counted_on_its_end_day_and_cut_at_hours(engine: Engine) -> None:
    rollup = Rollup()
    rollup.add(T + 40 * MIN, 20 * 60, "cdn_math", "10.0.0.1", "anna")  # 14:50 to 15:10
    rollup.add(T, 60, "cdn_bio", "10.0.0.1", "anna")
    assert len(rollup) == 2
    with engine.begin() as conn:
        rollup.write(conn)
    assert len(rollup) == 0  # written: the deltas are gone
    assert daily(engine) == [
        (20260504, "cdn_bio", "10.0.0.1", "anna", 60, 1, 60_000, 0),
        (20260504, "cdn_math", "10.0.0.1", "anna", 1200, 1, 10 * MIN, 10 * MIN),
    ]
    with Session(engine) as db:
        hourly = {(r.hour, r.ms, r.sessions) for r in db.scalars(select(UsageHourly))}
        dims = {(r.dim, r.value, r.seconds, r.sessions) for r in db.scalars(select(UsageDim))}
    assert hourly == {(14, 11 * MIN, 2), (15, 10 * MIN, 1)}
    assert dims == {
        (MODULE, "cdn_math", 1200, 1),
        (MODULE, "cdn_bio", 60, 1),
        (IP, "10.0.0.1", 1260, 2),
        (USER, "anna", 1260, 2),
    }


@pytest.mark.usefixtures("utc_tz")
def test_writing_again_adds_to_the_rows(engine: Engine) -> None:
    for _ in range(2):
        rollup = Rollup()
        rollup.add(T, 30, "cdn_math", "10.0.0.2", "Guest")
        with engine.begin() as conn:
            rollup.write(conn)
    assert daily(engine) == [(20260504, "cdn_math", "10.0.0.2", "Guest", 60, 2, 60_000, 0)]


def test_nothing_gathered_writes_nothing(engine: Engine) -> None:
    with engine.begin() as conn:
        Rollup().write(conn)
    assert daily(engine) == []
