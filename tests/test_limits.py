"""Time limits refuse what they cannot take (nothing is saved) and preview what they would do — on
SQLite and on the real PostgreSQL server (the alerts they raise: tests/test_alerts.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from gaze.db import LimitRow
from gaze.limits import LimitError, Limits, validate_minutes
from gaze.sessions import OpenSession

MIN = 60_000


@pytest.mark.parametrize("value", [0, -3, 99999, 2.5, "2.5", "0", "-3", "99999", "1e3", "20 min", "", " ", None, True])
def test_refused_values_save_nothing(engine: Engine, value: object) -> None:
    limits = Limits(engine)
    limits.load()
    with pytest.raises(LimitError) as refused:
        limits.set_limit("cdn_math", value)
    assert "Nothing was saved" in str(refused.value) or "Enter the limit" in str(refused.value)
    assert limits.limits == {}
    with Session(engine) as db:
        assert db.scalars(select(LimitRow)).all() == []


def test_whole_numbers_are_taken_as_they_are() -> None:
    assert [validate_minutes(v) for v in (1, "20", " 45 ", 1440, 30.0, "+7")] == [1, 20, 45, 1440, 30, 7]
    with pytest.raises(LimitError, match=r"2\.5"):
        validate_minutes("2.5")
    with pytest.raises(LimitError, match="99999 minutes is outside 1–1440"):
        validate_minutes("99999")


def test_preview_counts_learners_a_limit_puts_over(engine: Engine) -> None:
    limits = Limits(engine, resolve=lambda slug: {"cdn_algebra_v2": "cdn_algebra"}.get(slug, slug))
    now = 100 * MIN
    sessions = [
        OpenSession("10.0.0.1", "Guest", "cdn_algebra", now - 30 * MIN, now),
        OpenSession("10.0.0.2", "Guest", "cdn_algebra_v2", now - 25 * MIN, now),
        OpenSession("10.0.0.3", "Guest", "cdn_algebra", now - 5 * MIN, now),
        OpenSession("10.0.0.4", "Guest", "cdn_geo", now - 50 * MIN, now),
    ]
    preview = limits.preview("cdn_algebra", 20, sessions, now)
    assert (preview.on_module, preview.over) == (3, 2)
    assert limits.preview("cdn_algebra", 60, sessions, now).over == 0
    assert limits.preview("cdn_none", 1, sessions, now).on_module == 0
