"""The one clock (gaze/runtime.py): `main.py follow` alone — no UI — raises and stores over-limit
alerts and runs the midnight rotation, on the same APScheduler jobs the dashboard runs."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from gaze.db import make_engine, migrate
from gaze.logs.format import format_session_line
from gaze.runtime import next_local_midnight
from gaze.simulator import Line
from tests import journalkit
from tests.browserkit import access_line, asset_path, entry_path
from tests.conftest import require, timezone
from tests.livekit import env_for, start_follower, stop, write

pytestmark = [pytest.mark.journal]


def tz_before_midnight(seconds: int) -> str:
    """A POSIX TZ whose local time is `seconds` before midnight now (glibc takes hh:mm:ss offsets)."""
    utc_sod = int(time.time()) % 86_400
    offset = (utc_sod - (86_400 - seconds)) % 86_400  # POSIX: local = UTC - offset
    if offset > 43_200:
        offset -= 86_400
    sign = "-" if offset < 0 else "+"
    h, rest = divmod(abs(offset), 3600)
    return f"GZT{sign}{h:02d}:{rest // 60:02d}:{rest % 60:02d}"


def test_next_local_midnight_follows_the_time_zone() -> None:
    with timezone(tz_before_midnight(30)):
        now = time.time()
        midnight = next_local_midnight(now)
        assert 30 <= midnight - now <= 32
        assert datetime.fromtimestamp(midnight).strftime("%H:%M:%S") == "00:00:01"


def test_follow_alone_raises_alerts_and_rotates_at_midnight(tmp_path: Path) -> None:
    require(journalkit.available(), "systemd-journal-remote and journalctl")
    tz = tz_before_midnight(12)
    now_ms = int(time.time() * 1000)
    journal = tmp_path / "oc4d.journal"
    start = now_ms - 90_000  # on cdn_math for 90 s, its limit is 1 minute
    write(
        journal,
        [
            Line(start, access_line("10.0.0.5", entry_path("cdn_math"), start)),
            Line(now_ms - 2000, access_line("10.0.0.5", asset_path("cdn_math"), now_ms - 2000)),
        ],
    )
    db_url = f"sqlite:///{tmp_path / 'data' / 'gaze.db'}"
    engine = make_engine(db_url)
    migrate(engine)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO time_limit (module, minutes, updated_ms) VALUES ('cdn_math', 1, 0)"))
    engine.dispose()
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    with timezone(tz):  # a session line of "today", local time, minutes before midnight
        today = datetime.now().date()
        plain = log_dir / "modulegaze-sessions.log"
        plain.write_text(format_session_line(start - 30_000, "Guest", "10.0.0.9", "cdn_geo", 30))  # before the journal
    env = env_for(journal, log_dir, db_url)
    env["TZ"] = tz
    follower = start_follower(env, tmp_path / "follow.out")
    try:
        deadline = time.monotonic() + 40
        archive = log_dir / f"modulegaze-sessions-{today.isoformat()}.log.zip"
        while time.monotonic() < deadline and not (archive.exists() and _alerts(db_url)):
            assert follower.poll() is None, (tmp_path / "follow.out").read_text()
            time.sleep(0.5)
    finally:
        assert stop(follower) == 0
    assert _alerts(db_url) == [("Guest", "10.0.0.5", "cdn_math", 1)]
    assert archive.exists(), sorted(p.name for p in log_dir.iterdir())
    assert not plain.exists() or today.isoformat() not in plain.read_text()


def _alerts(db_url: str) -> list[tuple[str, str, str, int]]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT user_id, ip, module, limit_minutes FROM alert ORDER BY id"))
            return [tuple(r) for r in rows]  # type: ignore[misc]
    finally:
        engine.dispose()
