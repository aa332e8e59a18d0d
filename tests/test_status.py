"""The frozen status object and THE health rule (gaze.status): one verdict for the status strip and
/healthz, and every status text in plain words."""

from __future__ import annotations

from dataclasses import replace

import pytest

from gaze.journal import ReaderState
from gaze.simulator import DEMO_DETAIL
from gaze.status import (
    Aside,
    Reader,
    Status,
    Writer,
    database_text,
    frozen_text,
    health,
    last_line_text,
    reader_text,
    writer_text,
)
from tests.conftest import timezone

FOLLOWING = Status(running=True, reader=Reader("following"))


def test_healthy_when_following_saving_and_writing() -> None:
    verdict = health(FOLLOWING, db_ok=True)
    assert verdict.healthy and not (verdict.reader_problem or verdict.database_problem or verdict.writer_problem)


@pytest.mark.parametrize(
    ("status", "db_ok", "flag"),
    [
        (replace(FOLLOWING, reader=Reader("stalled")), True, "reader_problem"),
        (FOLLOWING, False, "database_problem"),
        (replace(FOLLOWING, write_error="database full"), True, "database_problem"),
        (replace(FOLLOWING, access_log=Writer(ok=False, detail="disk full")), True, "writer_problem"),
    ],
)
def test_each_problem_is_flagged_and_unhealthy(status: Status, db_ok: bool, flag: str) -> None:
    verdict = health(status, db_ok)
    assert getattr(verdict, flag) and not verdict.healthy


def test_set_aside_is_flagged_but_still_healthy_and_stopped_is_neither() -> None:
    aside = health(replace(FOLLOWING, set_aside=Aside(count=2, last_error="x")), db_ok=True)
    assert aside.writer_problem and aside.healthy
    stopped = health(Status(), db_ok=True)
    assert not stopped.reader_problem and not stopped.healthy  # stopped is not trouble, but not healthy


def test_reader_texts() -> None:
    now = 1000.0
    assert reader_text(Reader("following"), True, now) == "Monitoring oc4d"
    assert reader_text(Reader("following", note="a note"), True, now) == "Monitoring oc4d; a note"
    assert reader_text(Reader("stalled", "disk slow", retry_at=1004.6), True, now) == (
        "Monitoring paused: disk slow; retrying in 5s (nothing is lost)"
    )
    assert reader_text(Reader("restarting", "exit 1", retry_at=990.0), True, now) == (
        "Monitoring interrupted (exit 1); restarting in 0s"
    )
    assert reader_text(Reader("missing", retry_at=1030.0), True, now) == (
        "Cannot read oc4d's activity: the system's log tool is missing; retrying in 30s"
    )
    assert reader_text(Reader("unreadable", "cannot read /x"), True, now) == "cannot read /x"
    assert reader_text(Reader("stopped"), True, now) == "Monitoring is running"
    assert reader_text(Reader("stopped"), False, now) == "Monitoring stopped"
    assert reader_text(Reader("following", DEMO_DETAIL), True, now) == "Showing a simulated classroom (demo)"
    assert reader_text(Reader("starting"), True, now) == "Starting monitoring…"


def test_a_copy_of_the_live_reader_state_says_the_same() -> None:
    state = ReaderState()
    state.status, state.detail, state.retry_at = "stalled", "busy", 1010.0
    frozen = Reader.of(state)
    state.status = "following"  # the copy does not change with the live state
    assert frozen.status == "stalled"
    assert reader_text(frozen, True, 1000.0) == "Monitoring paused: busy; retrying in 10s (nothing is lost)"


def test_last_line_database_and_writer_texts() -> None:
    assert last_line_text(Reader(), 100.0) == "no activity yet"
    assert last_line_text(Reader(last_line_at=95.0), 100.0).startswith("last activity ")
    assert database_text(FOLLOWING, True, None) == "database ok"
    assert database_text(FOLLOWING, False, "refused") == "database unreachable: refused"
    assert database_text(replace(FOLLOWING, write_error="no space"), True, None) == "no space"
    assert writer_text(FOLLOWING) == ""
    troubled = replace(FOLLOWING, sessions_log=Writer(False, "log folder missing"), set_aside=Aside(3, "ValueError: x"))
    assert writer_text(troubled) == "log folder missing; 3 could not be stored and were set aside: ValueError: x"


def test_frozen_text() -> None:
    with timezone("UTC"):
        text = frozen_text(3600.0, 3540.0)
    assert text.startswith("Monitoring is stopped since 01:00:00. This board is frozen at that moment")
    assert text.endswith("Last activity seen at 00:59:00.")
    assert frozen_text(None, None) == (
        "Monitoring is stopped. This board is frozen at that moment: times do not tick and no new sessions appear."
    )
