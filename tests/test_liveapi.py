"""The operators' JSON bodies (gaze.liveapi, DESIGN §6): GET /api/live-sessions with upstream's keys
and the board's, and GET /api/modules with the sources' error details only for a signed-in user."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from gaze.catalog import Catalog
from gaze.limits import Limits
from gaze.liveapi import HIDDEN, live_sessions, modules_payload
from gaze.sessions import OpenSession

MIN = 60_000
T = 1_777_905_000_000  # 2026-05-04 14:30 UTC


def test_live_sessions_longest_first_with_both_sets_of_keys(engine: Engine, tmp_path: Path) -> None:
    catalog = Catalog(database_url=None, uploads_roots=[tmp_path / "none"])
    limits = Limits(engine)
    limits.load()
    limits.set_limit("cdn_math", 20)
    sessions = [
        OpenSession("10.0.0.2", "Guest", "cdn_bio", T + 10 * MIN, T + 12 * MIN),
        OpenSession("10.0.0.1", "anna", "cdn_math", T, T + 25 * MIN),
    ]
    labels = {"10.0.0.1": "Front desk"}.get
    rows = live_sessions(sessions, catalog, limits, labels, T + 30 * MIN)
    assert [r["ip"] for r in rows] == ["10.0.0.1", "10.0.0.2"]
    first = rows[0]
    assert first == first | {
        "username": "anna",
        "device": "Front desk",
        "module": "cdn_math",
        "moduleName": "cdn_math",  # the catalog does not know it: its slug
        "startTime": "2026-05-04T14:30:00.000Z",
        "lastActivity": "2026-05-04T14:55:00.000Z",
        "duration": 1800,
        "seconds": 1800,
        "idleSeconds": 300,
        "limitMinutes": 20,
        "overLimit": True,
    }
    assert rows[1]["device"] is None and rows[1]["limitMinutes"] is None and rows[1]["overLimit"] is False
    assert rows[1]["displayName"] == "Guest" and rows[1]["seconds"] == 1200


def test_a_clock_behind_the_session_never_gives_negative_times(engine: Engine, tmp_path: Path) -> None:
    catalog = Catalog(database_url=None, uploads_roots=[tmp_path / "none"])
    limits = Limits(engine)
    limits.load()
    row = live_sessions([OpenSession("10.0.0.1", "Guest", "m", T, T + MIN)], catalog, limits, {}.get, T - MIN)[0]
    assert (row["duration"], row["idleSeconds"]) == (0, 0)


def test_error_details_are_only_for_signed_in_users(tmp_path: Path) -> None:
    catalog = Catalog(database_url=None, uploads_roots=[tmp_path / "no-uploads-here"])
    catalog.reload()
    full = modules_payload(catalog, details=True)
    scan = full["sources"]["scan"]
    assert scan["ok"] is False and scan["error"] and str(tmp_path) in str(scan["rootsTried"])
    anyone = modules_payload(catalog, details=False)
    hidden = anyone["sources"]["scan"]
    assert hidden["error"] == HIDDEN and hidden["rootsTried"] == [] and hidden["root"] is None
    assert str(tmp_path) not in str(anyone)
    assert anyone["modules"] == full["modules"]
