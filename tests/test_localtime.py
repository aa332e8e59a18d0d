"""Local time (DESIGN §4: a session belongs to the local day its end falls in): the History ranges
across DST changes, local days as numbers, and sessions cut at local hour boundaries."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from gaze import history
from gaze.localtime import HOUR_MS, day_number, day_of_number, hour_pieces, local_day, local_midnight_ms, local_time
from tests.conftest import timezone
from tests.test_history import HOUR, at


def test_ranges_across_dst_in_london(london: ZoneInfo) -> None:
    spring = datetime(2026, 3, 29, 12, tzinfo=london)
    r = history.today(now=spring)
    assert (r.start_ms, r.end_ms) == (at(london, 2026, 3, 29), at(london, 2026, 3, 30))
    assert r.end_ms - r.start_ms == 23 * HOUR and r.label == "Today"
    autumn = history.today(now=datetime(2026, 10, 25, 0, 30, tzinfo=london))
    assert autumn.end_ms - autumn.start_ms == 25 * HOUR
    y = history.yesterday(now=datetime(2026, 10, 26, 0, 5, tzinfo=london))
    assert (y.start_ms, y.end_ms, y.label) == (autumn.start_ms, autumn.end_ms, "Yesterday")
    week = history.last_days(7, now=datetime(2026, 4, 2, 9, tzinfo=london))
    assert week.start_ms == at(london, 2026, 3, 27) and week.end_ms == at(london, 2026, 4, 3)
    assert week.end_ms - week.start_ms == 7 * 24 * HOUR - HOUR and week.label == "Last 7 days"
    assert week.days() == (20260327, 20260402)
    month = history.this_month(now=datetime(2026, 10, 31, 23, 59, tzinfo=london))
    assert (month.start_ms, month.end_ms) == (at(london, 2026, 10, 1), at(london, 2026, 11, 1))
    feb = history.this_month(now=datetime(2028, 2, 29, 12, tzinfo=london))
    assert feb.days() == (20280201, 20280229)
    year = history.this_year(now=datetime(2026, 7, 1, tzinfo=london))
    assert year.days() == (20260101, 20261231) and year.end_ms - year.start_ms == 365 * 24 * HOUR
    c = history.custom(date(2026, 3, 30), date(2026, 3, 28))  # swapped
    assert c.days() == (20260328, 20260330) and c.label == "2026-03-28 – 2026-03-30"
    assert history.custom(date(2026, 3, 28), date(2026, 3, 28)).label == "2026-03-28"
    # a "now" in another zone is taken in local time: 23:30 UTC on Jun 30 is Jul 1 in London (BST)
    assert history.today(now=datetime(2026, 6, 30, 23, 30, tzinfo=UTC)).days() == (20260701, 20260701)
    # not at local midnight: no roll-up days
    assert history.Range(r.start_ms + 1, r.end_ms, "x").days() is None
    with pytest.raises(ValueError):
        history.last_days(0)


def test_day_numbers_round_trip() -> None:
    assert day_number(date(2026, 3, 9)) == 20260309
    assert day_of_number(20260309) == date(2026, 3, 9)
    assert day_of_number(day_number(date(2028, 2, 29))) == date(2028, 2, 29)


def test_local_day_and_midnight_follow_the_zone(london: ZoneInfo) -> None:
    late = int(datetime(2026, 6, 30, 23, 30, tzinfo=UTC).timestamp() * 1000)  # 00:30 on Jul 1 in London
    assert local_day(late) == date(2026, 7, 1)
    assert local_midnight_ms(date(2026, 7, 1)) == at(london, 2026, 7, 1)


def test_hour_pieces_cut_at_local_hours(london: ZoneInfo) -> None:
    start = at(london, 2026, 5, 4, 9, 45)
    assert list(hour_pieces(start, start + 30 * 60_000)) == [(9, 15 * 60_000), (10, 15 * 60_000)]
    assert list(hour_pieces(start, start)) == []
    # the spring change: 00:30 to 02:30 local is one real hour and a half (01:00 does not exist)
    spring = at(london, 2026, 3, 29, 0, 30)
    pieces = list(hour_pieces(spring, spring + 90 * 60_000))
    assert pieces == [(0, 30 * 60_000), (2, HOUR_MS)]


def test_the_cache_follows_a_change_of_zone() -> None:
    moment = int(datetime(2026, 1, 15, 12, tzinfo=UTC).timestamp() * 1000)
    with timezone("UTC"):
        local_time.check_zone()
        assert local_time.slot(moment)[1:] == (12, 0)
    with timezone("Asia/Kolkata"):  # +05:30
        local_time.check_zone()
        assert local_time.slot(moment) == (20260115, 17, 19_800_000)


def test_hour_pieces_in_a_half_hour_zone() -> None:
    noon_utc = int(datetime(2026, 1, 15, 12, tzinfo=UTC).timestamp() * 1000)  # 17:30 in Kolkata (+05:30)
    with timezone("Asia/Kolkata"):
        local_time.check_zone()
        pieces = list(hour_pieces(noon_utc, noon_utc + HOUR_MS))
    local_time.check_zone()
    assert pieces == [(17, 30 * 60_000), (18, 30 * 60_000)]
