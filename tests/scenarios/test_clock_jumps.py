"""Scenario: a far-future timestamp and a clock set back keep recording, compared with `main.py backfill` of the same journal."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from gaze.simulator import DEFAULT_START_MS, Line
from tests.browserkit import access_line, asset_path, entry_path
from tests.faultkit import HOUR_MS, _journal_tools, directory_env, reference  # noqa: F401 - _journal_tools is an autouse fixture
from tests.livekit import (
    last_cursor,
    session_log,
    start_follower,
    stop,
    wait_for_cursor,
    write,
)

pytestmark = [pytest.mark.journal]


def test_far_future_stamp_and_clock_set_back_keep_recording(tmp_path: Path) -> None:
    """A far-future bracketed time, then a Pi whose clock was hours ahead and is corrected, with a
    kill in between: live records equal backfill's, and none is lost to a pinned clock."""
    t0 = DEFAULT_START_MS
    ahead = t0 + 5 * HOUR_MS  # the journal's own clock runs five hours ahead for a while
    rows = [
        (t0, access_line("10.0.1.1", entry_path("cdn_math"), t0)),
        (t0 + 20_000, access_line("10.0.1.1", asset_path("cdn_math"), t0 + 2_000_000_000_000)),  # year 2089
        (t0 + 40_000, access_line("10.0.1.1", asset_path("cdn_math"), t0 + 40_000)),
        (ahead, access_line("10.0.1.2", entry_path("cdn_geo"), ahead)),
        (ahead + 30_000, access_line("10.0.1.2", asset_path("cdn_geo"), ahead + 30_000)),
        (t0 + 60_000, access_line("10.0.1.3", entry_path("cdn_bio"), t0 + 60_000)),  # clock corrected
        (t0 + 110_000, access_line("10.0.1.3", asset_path("cdn_bio"), t0 + 110_000)),
        (t0 + 3 * HOUR_MS, access_line("10.9.9.9", entry_path("zz_sentinel"), t0 + 3 * HOUR_MS)),
    ]
    lines = [Line(ms, message) for ms, message in rows]
    journal_dir = tmp_path / "journal"
    journal = journal_dir / "oc4d.journal"
    db_url = f"sqlite:///{tmp_path / 'g.db'}"
    log_dir = tmp_path / "logs"
    env = directory_env(journal_dir, log_dir, db_url)
    write(journal, lines[:4])
    follower = start_follower(env, tmp_path / "follow.out")
    wait_for_cursor(db_url, last_cursor(journal), follower)
    stop(follower, signal.SIGKILL)
    write(journal, lines[4:])
    follower = start_follower(env, tmp_path / "follow.out")
    try:
        wait_for_cursor(db_url, last_cursor(journal), follower)
        time.sleep(1.5)
    finally:
        assert stop(follower) == 0
    expected = reference(journal_dir, tmp_path)
    assert [line.split("\t")[3] for line in expected.splitlines()] == [
        "durationSeconds=40",
        "durationSeconds=30",
        "durationSeconds=50",
    ]
    assert session_log(log_dir) == expected
