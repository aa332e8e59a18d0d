"""Scenario: journal entries that cannot be recorded (poison) are set aside and never stop recording, on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

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


def poison_lines(t0: int) -> list[Line]:
    """Entries that once stopped recording on PostgreSQL, between ordinary ones."""
    long_user = "u" * 600
    long_slug = "m" * 1100
    zone_ip = "fe80::1%" + "z" * 200
    nested = '{"user":' + "[" * 5000 + "]" * 5000 + "}"
    rows = [
        (t0, access_line("10.0.0.1", entry_path("cdn_math"), t0)),
        (t0 + 1000, access_line("10.0.0.2", entry_path("cdn_geo"), t0 + 1000, user=long_user)),
        (t0 + 2000, access_line("10.0.0.3", entry_path(long_slug), t0 + 2000)),
        (t0 + 3000, access_line(zone_ip, entry_path("cdn_bio"), t0 + 3000)),
        (t0 + 4000, access_line("10.0.0.4", entry_path("cdn_nul"), t0 + 4000, user="a%00b")),
        (t0 + 5000, access_line("10.0.0.5", entry_path("cdn_chem"), t0 + 5000) + " " + nested),
    ]
    later = t0 + 40_000
    ips = ["10.0.0.1", "10.0.0.2", "10.0.0.3", zone_ip, "10.0.0.4", "10.0.0.5"]
    slugs = ["cdn_math", "cdn_geo", long_slug, "cdn_bio", "cdn_nul", "cdn_chem"]
    users = [None, long_user, None, None, "a%00b", None]
    for k, (ip, slug, user) in enumerate(zip(ips, slugs, users, strict=True)):
        rows.append((later + k, access_line(ip, asset_path(slug), later + k, user=user)))
    sentinel = later + 3 * HOUR_MS
    rows.append((sentinel, access_line("10.9.9.9", entry_path("zz_sentinel"), sentinel)))
    return [Line(ms, message) for ms, message in rows]


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_poison_entries_never_stop_recording(database: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    db_url = str(request.getfixturevalue("pg_url")) if database == "postgres" else f"sqlite:///{tmp_path / 'g.db'}"
    journal_dir = tmp_path / "journal"
    journal = journal_dir / "oc4d.journal"
    write(journal, poison_lines(DEFAULT_START_MS))
    log_dir = tmp_path / "logs"
    follower = start_follower(directory_env(journal_dir, log_dir, db_url), tmp_path / "follow.out")
    try:
        wait_for_cursor(db_url, last_cursor(journal), follower)
        time.sleep(1.5)  # the log writer follows the commit
    finally:
        assert stop(follower) == 0
    expected = reference(journal_dir, tmp_path).splitlines(keepends=True)
    assert len(expected) == 6
    written = session_log(log_dir).splitlines(keepends=True)
    # a NUL is one space like any control character (DESIGN §4): recorded, the same on both databases
    assert set_aside_rows(db_url) == []
    assert written == expected
    assert "\tuserId=a b|10.0.0.4\tmoduleId=cdn_nul\t" in "".join(written)


def set_aside_rows(db_url: str) -> list[tuple[str, str, str]]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text("SELECT kind, data, error FROM set_aside ORDER BY id"))]
    finally:
        engine.dispose()
