"""Alerts on time limits: raised once per session, acknowledged once, ended by themselves (the limit
raised or removed, the session ended) and kept that way across a restart; the board counts them."""

from __future__ import annotations

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from gaze.alerts import LIMIT_REMOVED, SESSION_ENDED
from gaze.board import over_note, stats
from gaze.db import AlertRow
from gaze.limits import Limits
from gaze.sessions import OpenSession, SessionStore

MIN = 60_000


def alert_rows(engine: Engine) -> list[AlertRow]:
    with Session(engine) as db:
        return list(db.scalars(select(AlertRow).order_by(AlertRow.id)))


def test_alerts_end_by_themselves_and_keep_how(engine: Engine) -> None:
    limits = Limits(engine)
    limits.load()
    now = 100 * MIN
    a = OpenSession("10.0.0.1", "Guest", "cdn_math", now - 30 * MIN, now)
    b = OpenSession("10.0.0.2", "anna", "cdn_math", now - 25 * MIN, now)
    c = OpenSession("10.0.0.3", "Guest", "cdn_geo", now - 40 * MIN, now)
    limits.set_limit("cdn_math", 20)
    limits.set_limit("cdn_geo", 20)
    raised = limits.check([a, b, c], now)
    assert len(raised) == 3 and len(limits.pending) == 3
    assert limits.check([a, b, c], now + 1000) == []  # one alert per session

    assert limits.acknowledge([raised[0].id], by="tester") == 1
    assert limits.acknowledge([raised[0].id], by="other") == 0  # not twice
    assert len(limits.pending) == 2

    limits.set_limit("cdn_math", 28)  # b (25 min) is no longer over; a (30 min) still is
    ended = limits.resolve_ended([a, b, c], now + 2000)
    assert [(e.ip, e.resolution) for e in ended] == [("10.0.0.2", "limit raised to 28 min")]
    limits.remove_limit("cdn_geo")
    ended = limits.resolve_ended([a, b], now + 3000)  # c's session ended too, but it counts first
    assert [(e.ip, e.resolution) for e in ended] == [("10.0.0.3", SESSION_ENDED)]
    ended = limits.resolve_ended([], now + 4000)
    assert [(e.ip, e.resolution) for e in ended] == [("10.0.0.1", SESSION_ENDED)]
    assert limits.open == {} and limits.pending == []

    rows = {r.ip: r for r in alert_rows(engine)}
    assert rows["10.0.0.1"].acknowledged_by == "tester" and rows["10.0.0.1"].resolution == SESSION_ENDED
    assert rows["10.0.0.2"].resolution == "limit raised to 28 min" and rows["10.0.0.2"].acknowledged_ms is None
    assert rows["10.0.0.3"].resolved_ms == now + 3000

    again = Limits(engine)  # after a restart: the history is the same, nothing is open
    again.load()
    assert again.open == {} and {a.resolution for a in again.recent} == {SESSION_ENDED, "limit raised to 28 min"}


def test_removed_limit_ends_its_alerts_and_a_restart_resolves_what_closed_meanwhile(engine: Engine) -> None:
    limits = Limits(engine)
    limits.load()
    now = 100 * MIN
    a = OpenSession("10.0.0.1", "Guest", "cdn_math", now - 30 * MIN, now)
    b = OpenSession("10.0.0.2", "Guest", "cdn_verbs", now - 30 * MIN, now)
    limits.set_limit("cdn_math", 20)
    limits.set_limit("cdn_verbs", 20)
    limits.check([a, b], now)
    limits.remove_limit("cdn_math")
    assert [e.resolution for e in limits.resolve_ended([a, b], now + 1000)] == [LIMIT_REMOVED]
    restarted = Limits(engine)
    restarted.load()
    assert [x.ip for x in restarted.pending] == ["10.0.0.2"]
    assert [e.resolution for e in restarted.resolve_ended([], now + 5000)] == [SESSION_ENDED]


def test_over_limit_count_says_how_many_are_acknowledged(engine: Engine) -> None:
    limits = Limits(engine)
    limits.load()
    now = 100 * MIN
    store = SessionStore(idle_timeout_s=3600)
    for ip in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):
        store.ping(ip, "Guest", "cdn_math", now - 30 * MIN)
    limits.set_limit("cdn_math", 20)
    raised = limits.check(store.sessions(), now)
    assert (stats(store, limits, now).over_limit, over_note(stats(store, limits, now))) == (3, "")
    limits.acknowledge([raised[0].id, raised[1].id], by="tester")
    numbers = stats(store, limits, now)
    assert (numbers.over_limit, numbers.over_acknowledged, over_note(numbers)) == (3, 2, "2 seen")
    limits.acknowledge([raised[2].id], by="tester")
    assert over_note(stats(store, limits, now)) == "all seen"
    limits.set_limit("cdn_math", 40)  # no one is over any more: the acknowledged alerts end, so does the note
    limits.resolve_ended(store.sessions(), now)
    assert (stats(store, limits, now).over_limit, over_note(stats(store, limits, now))) == (0, "")
