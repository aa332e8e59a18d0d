"""Scenario: the database goes away (cut mid run, down at boot, an outage across a heartbeat and a restart) and recording loses and doubles nothing; the status says why reading paused.

Real parts only: PostgreSQL behind a loopback TCP proxy that the test cuts and restores, real
`.journal` files appended while the follower runs, and `main.py backfill` of the same journal as
the reference every live run must equal.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from gaze.journal import JournalEntry
from gaze.recorder import Recorder
from gaze.simulator import DEFAULT_START_MS, Line
from tests.browserkit import ADMIN_USER, App, access_line, entry_path
from tests.faultkit import HOUR_MS, _journal_tools, directory_env, reference  # noqa: F401 - _journal_tools is an autouse fixture
from tests.livekit import (
    checkpoint_cursor,
    corpus,
    last_cursor,
    session_log,
    start_follower,
    stop,
    wait_for_cursor,
    write,
)
from tests.recorderkit import classroom, live_rows, make_settings, open_engine
from tests.tcpproxy import TcpProxy

pytestmark = [pytest.mark.journal]


@pytest.fixture
def proxy(pg_url: str) -> Iterator[TcpProxy]:
    with TcpProxy(5432) as running:
        yield running


def parts(count: int, entries: int) -> list[list[Line]]:
    """`count` classroom sessions six hours apart, each ending with a sentinel that closes all."""
    return [corpus(seed=40 + k, entries=entries, start_ms=DEFAULT_START_MS + k * 6 * HOUR_MS) for k in range(count)]


def count_rows(db_url: str, table: str) -> int:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_database_cut_mid_run_loses_and_doubles_nothing(pg_url: str, proxy: TcpProxy, tmp_path: Path) -> None:
    """The follower writes through the proxy; the proxy is cut while the journal directory grows,
    then restored: the reader waits (alive), resumes by itself, and the files equal backfill's."""
    journal_dir = tmp_path / "journal"
    journal = journal_dir / "oc4d.journal"
    first, second, third = parts(3, 700)
    write(journal, first)
    log_dir = tmp_path / "logs"
    follower = start_follower(directory_env(journal_dir, log_dir, proxy.url(pg_url)), tmp_path / "follow.out")
    try:
        wait_for_cursor(pg_url, last_cursor(journal), follower)
        saved = checkpoint_cursor(pg_url)
        proxy.cut()
        write(journal, second)  # read while the database is away
        time.sleep(4)
        assert follower.poll() is None, "the follower must stay up while the database is away"
        assert checkpoint_cursor(pg_url) == saved
        proxy.restore()
        write(journal, third)
        wait_for_cursor(pg_url, last_cursor(journal), follower, timeout=90)
    finally:
        assert stop(follower) == 0
    out = (tmp_path / "follow.out").read_text()
    assert "cannot save to the database" in out
    expected = reference(journal_dir, tmp_path)
    assert expected.count("\n") > 50
    assert session_log(log_dir) == expected
    assert count_rows(pg_url, "session_record") == expected.count("\n")


@pytest.mark.postgres
def test_database_down_at_boot_serves_a_status_and_connects_later(pg_url: str, tmp_path: Path) -> None:
    """PostgreSQL is not there when the service starts: it keeps serving (503 with the reason) and
    starts recording by itself once the database answers."""
    journal = tmp_path / "oc4d.journal"
    t0 = int(time.time() * 1000) - 60_000
    write(journal, [Line(t0, access_line("10.0.0.5", entry_path("cdn_math"), t0))])
    proxy = TcpProxy(5432)  # not listening yet: connections are refused
    app = App(journal, tmp_path, extra_env={"MODULEGAZE_DATABASE_URL": proxy.url(pg_url)})
    app.passwords[ADMIN_USER] = "unused"  # no `users add`: it would need the database
    app.start(timeout=60, following=False)
    try:
        status, body = app.health()
        assert status == 503
        assert body["database"]["ok"] is False and body["database"]["error"]
        time.sleep(2)
        assert app.process is not None and app.process.poll() is None
        proxy.restore()
        app.wait_healthy(60)
        deadline = time.monotonic() + 30  # "following" comes as journalctl starts, the line just after
        status, body = app.health()
        while time.monotonic() < deadline and body["sessions"]["open"] != 1:
            time.sleep(0.2)
            status, body = app.health()
        assert status == 200 and body["sessions"]["open"] == 1
    finally:
        app.stop()
        proxy.cut()
    assert "database not ready" in app.output()


@pytest.mark.postgres
async def test_outage_heartbeat_and_restart_lose_nothing(pg_url: str, proxy: TcpProxy, tmp_path: Path) -> None:
    """Issue 12's reproduction: a save fails during an outage, a heartbeat and the tick try again,
    then either the same process saves when the database is back, or it is killed and a new one
    resumes from the last saved checkpoint. Both end with every record once, durations right."""
    entries = classroom(seed=5, n=3000)
    third = len(entries) // 3
    reference_settings = make_settings(tmp_path, "reference")
    reference = await _run(Recorder(reference_settings, open_engine(reference_settings)), [entries])
    expected = [row[:7] for row in live_rows(reference)]
    assert len(expected) >= 30

    for crash in (False, True):
        settings = make_settings(tmp_path, f"crash-{crash}", database_url=proxy.url(pg_url))
        engine = open_engine(settings)
        with engine.begin() as conn:  # each round starts empty (same schema)
            for table in ("session_record", "checkpoint", "log_writer", "usage_daily", "usage_dim", "usage_hourly"):
                conn.execute(text(f"DELETE FROM {table}"))
        monitor = Recorder(settings, engine)
        monitor.restore()
        await monitor.record(entries[:third])
        proxy.cut()
        monitor.feed_entries(entries[third : 2 * third])
        monitor.cursor = entries[2 * third - 1].cursor
        assert not await monitor.persist()
        monitor.heartbeat("10.1.1.1", "Guest", "cdn_math", "ping", entries[2 * third - 1].realtime_us // 1000)
        await monitor.tick()
        assert monitor.write_error and "cannot save to the database" in monitor.write_error
        proxy.restore()
        if crash:  # killed during the outage: a new process resumes from the saved checkpoint
            engine.dispose()
            monitor = Recorder(settings, open_engine(settings))
            monitor.restore()
            await _run(monitor, [entries[third:]])
        else:
            assert await monitor.persist()
            await _run(monitor, [entries[2 * third :]])
        got = [row[:7] for row in live_rows(monitor.engine) if row[3] != "10.1.1.1"]
        assert got == expected, f"crash={crash}"
        monitor.engine.dispose()


@pytest.mark.postgres
async def test_the_readers_wait_ends_when_the_ticks_save_gets_through(
    pg_url: str, proxy: TcpProxy, tmp_path: Path
) -> None:
    """While the database refuses a batch, the reader waits longer each time (0.5 s doubling to
    30 s). The tick's save that gets through stores the held batch too: the reader goes on at once
    and the status stops saying "stalled", not at the end of its wait."""
    settings = make_settings(tmp_path, "wake", database_url=proxy.url(pg_url))
    monitor = Recorder(settings, open_engine(settings))
    monitor.restore()
    proxy.cut()
    held = asyncio.create_task(monitor.record(classroom(seed=5, n=300)))
    while (monitor.reader_state.retry_at or 0) - time.time() < 3:  # its 4 s wait has begun
        await asyncio.sleep(0.05)
    proxy.restore()
    await asyncio.sleep(0.6)  # the tick may try again 0.5 s after the reader's last failed save
    await monitor.tick()
    assert monitor.write_error is None
    await asyncio.wait_for(held, 1.5)  # before: until the end of the 4 s wait
    assert monitor.reader_state.status == "following"
    assert len(live_rows(monitor.engine)) > 0
    monitor.engine.dispose()


async def _run(monitor: Recorder, parts_: list[list[JournalEntry]]) -> Engine:
    """Feed `parts_` as the reader would (batches of 400), close everything, save."""
    if not monitor.restored:
        monitor.restore()
    for part in parts_:
        for i in range(0, len(part), 400):
            await monitor.record(part[i : i + 400])
    monitor.store.close_all()
    assert await monitor.persist()
    return monitor.engine


@pytest.mark.postgres
def test_status_and_healthz_say_why_reading_paused(pg_url: str, proxy: TcpProxy, tmp_path: Path) -> None:
    """The dashboard's /healthz answers 503 with the reason in words while the database refuses a
    batch, and 200 again once it answers: no restart needed."""
    journal = tmp_path / "oc4d.journal"
    t0 = int(time.time() * 1000) - 120_000
    write(journal, [Line(t0, access_line("10.0.0.5", entry_path("cdn_math"), t0))])
    app = App(journal, tmp_path, extra_env={"MODULEGAZE_DATABASE_URL": proxy.url(pg_url)}).start(timeout=60)
    try:
        proxy.cut()
        write(journal, [Line(t0 + 5000, access_line("10.0.0.6", entry_path("cdn_geo"), t0 + 5000))])
        deadline = time.monotonic() + 30
        status, body = app.health()
        while time.monotonic() < deadline and body.get("reader", {}).get("status") != "stalled":
            time.sleep(0.2)
            status, body = app.health()
        assert status == 503
        assert body["reader"]["status"] == "stalled"
        assert "cannot save to the database" in body["reader"]["detail"]
        assert "cannot save to the database" in body["saving"]["error"]
        proxy.restore()
        app.wait_healthy(60)
        status, body = app.health()
        assert status == 200 and body["sessions"]["open"] == 2 and body["saving"]["ok"] is True
    finally:
        app.stop()
