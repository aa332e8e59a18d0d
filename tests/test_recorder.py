"""The live Recorder in-process: database checkpoint + exactly-once log files (DESIGN §3, §4).

Real SQLite files and real log directories; the journal is replaced by feeding JournalEntry batches
to the recorder the way its JournalReader does (`record`, through gaze.sources).
"""

from __future__ import annotations

import itertools
import json
import shutil
import time
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from gaze.checkpoint import CHECKPOINT
from gaze.db import LIVE, Checkpoint, LogWriterRow, RecordRow
from gaze.journal import JournalEntry
from gaze.localtime import local_day
from gaze.logs.format import SESSIONS_STEM, format_session_line
from gaze.logs.writer import session_bytes
from gaze.recorder import Recorder
from gaze.sessions import SessionRecord
from tests.recorderkit import (
    ACCESS_LOG,
    SCENE,
    SCENE_ROWS,
    SESSIONS_LOG,
    T0,
    A,
    B,
    C,
    access_messages,
    all_sessions,
    batches,
    block_dir,
    checkpoint,
    classroom,
    entry,
    expected_log,
    hit,
    live_rows,
    make_settings,
    module_messages,
    new_monitor,
    open_engine,
    run_through,
    unblock_dir,
)

pytestmark = pytest.mark.usefixtures("clean_env")


# ---------------------------------------------------------------- records, database and file


async def test_records_land_in_database_and_log_once(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    engine = open_engine(settings)
    monitor = await new_monitor(settings, engine)
    await monitor.record(SCENE[:5])
    assert live_rows(engine) == SCENE_ROWS[:1]
    await monitor.record(SCENE[5:])
    assert live_rows(engine) == SCENE_ROWS
    log_file = settings.log_dir / SESSIONS_LOG
    assert log_file.read_text() == expected_log(SCENE_ROWS)
    assert monitor.sessions_log.status.ok and monitor.sessions_log.status.waiting == 0

    cursor, state = checkpoint(engine)
    assert cursor == SCENE[-1].cursor
    assert state["clock"] == T0 + 130_000
    assert sorted((s[0], s[2]) for s in state["open"]) == [(A, "cdn_art"), (B, "cdn_math"), (C, "cdn_art")]

    # nothing new: persisting, ticking and restarting write nothing more
    await monitor.persist()
    await monitor.tick()
    await new_monitor(settings, engine)
    assert log_file.read_text() == expected_log(SCENE_ROWS)
    assert len(live_rows(engine)) == 3
    assert not (settings.log_dir / ACCESS_LOG).exists()  # the tee is off by default
    with Session(engine) as db:
        row = db.get(LogWriterRow, SESSIONS_STEM)
        assert row is not None and row.intent_data is None
        assert row.written_upto == db.scalar(select(RecordRow.id).order_by(RecordRow.id.desc()).limit(1))


async def test_batch_without_cursor_keeps_the_last_cursor(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    engine = open_engine(settings)
    monitor = await new_monitor(settings, engine)
    await monitor.record(SCENE[:4])
    monitor.feed_entries([JournalEntry(None, (T0 + 61_000) * 1000, hit(B, T0 + 61_000, "/modules/cdn_art/x.js"))])
    await monitor.tick()  # persists what feed_entries gathered
    cursor, state = checkpoint(engine)
    assert cursor == SCENE[3].cursor
    assert state["clock"] == T0 + 61_000


async def test_restart_continues_from_checkpoint(tmp_path: Path, utc_tz: None) -> None:
    entries = classroom(seed=5, n=3000)
    reference = make_settings(tmp_path, "reference")
    ref_engine = await run_through(reference, entries)
    expected_rows = live_rows(ref_engine)
    assert len(expected_rows) > 30
    expected_text = all_sessions(reference.log_dir)
    assert expected_text == expected_log(expected_rows)

    settings = make_settings(tmp_path, "restarted")
    cuts = [0, 700, 1234, 2400, len(entries)]
    for start, stop in itertools.pairwise(cuts):
        engine = open_engine(settings)  # a new process: new engine, new monitor, restore()
        monitor = await new_monitor(settings, engine)
        for batch in batches(entries[start:stop], 150):
            await monitor.record(batch)
        engine.dispose()

    engine = open_engine(settings)
    assert live_rows(engine) == expected_rows
    assert all_sessions(settings.log_dir) == expected_text
    assert checkpoint(engine) == checkpoint(ref_engine)


# ---------------------------------------------------------------- crash between intent and write


def record_rows(records: list[SessionRecord], source: str) -> list[RecordRow]:
    """ORM rows for records, without roll-ups or duplicate checks (to stage raw rows);
    the service inserts through gaze.records.add_records."""
    return [
        RecordRow(
            end_ms=r.end_ms,
            start_ms=r.start_ms,
            user_id=r.user,
            ip=r.ip,
            module=r.module,
            duration_s=r.duration_s,
            reason=r.reason,
            source=source,
        )
        for r in records
    ]


def _commit_without_writing(monitor: Recorder, engine: Engine, entries: list[JournalEntry]) -> bytes:
    """What `_on_batch` commits — records, cursor, open sessions, the file intent — but no file write.

    Returns the bytes the intent says must go into the sessions log.
    """
    for e in entries:
        monitor.ingestor.add(e)
    records, _ = monitor.ingestor.take()
    assert records
    with Session(engine) as db, db.begin():
        db.add_all(record_rows(records, LIVE))
        row = db.get(Checkpoint, CHECKPOINT)
        assert row is not None
        row.cursor = entries[-1].cursor
        row.state = json.dumps(monitor.store.to_state())
    with Session(engine) as db, db.begin():
        writer = db.get(LogWriterRow, SESSIONS_STEM)
        assert writer is not None
        rows = db.scalars(select(RecordRow).where(RecordRow.id > writer.written_upto).order_by(RecordRow.id)).all()
        data = session_bytes(rows)
        day = datetime.fromtimestamp(rows[0].end_ms / 1000).date()
        assert monitor.sessions_log.stage(db, data, day, upto=rows[-1].id)
    return data


@pytest.mark.parametrize("written", ["nothing", "part", "all"])
async def test_crash_between_intent_and_file_write(tmp_path: Path, utc_tz: None, written: str) -> None:
    entries = classroom(seed=9, n=2500)
    reference = make_settings(tmp_path, "reference")
    ref_engine = await run_through(reference, entries)
    expected_rows = live_rows(ref_engine)

    settings = make_settings(tmp_path, "crashed")
    engine = open_engine(settings)
    monitor = await new_monitor(settings, engine)
    for batch in batches(entries[:1000], 200):
        await monitor.record(batch)
    log_file = settings.log_dir / SESSIONS_LOG
    before = log_file.read_bytes()
    assert before

    data = _commit_without_writing(monitor, engine, entries[1000:1600])
    if written == "part":
        with log_file.open("ab") as f:
            f.write(data[: len(data) // 2 + 7])  # a torn write, mid-line
    elif written == "all":
        with log_file.open("ab") as f:
            f.write(data)
    del monitor  # the process dies here
    engine.dispose()

    engine = open_engine(settings)
    monitor = await new_monitor(settings, engine)
    assert log_file.read_bytes() == before + data  # completed exactly once by restore()
    assert monitor.sessions_log.status.ok
    for batch in batches(entries[1600:], 200):
        await monitor.record(batch)
    assert live_rows(engine) == expected_rows
    assert all_sessions(settings.log_dir) == all_sessions(reference.log_dir)


# ---------------------------------------------------------------- the access tee


async def test_access_tee_written_once_across_restart(tmp_path: Path) -> None:
    entries = classroom(seed=3, n=1500)
    settings = make_settings(tmp_path, tee_access_log=True)
    engine = open_engine(settings)
    monitor = await new_monitor(settings, engine)
    for batch in batches(entries[:600], 100):
        await monitor.record(batch)
    assert access_messages(settings.log_dir) == module_messages(entries[:600])
    engine.dispose()

    engine = open_engine(settings)
    monitor = await new_monitor(settings, engine)  # restore() must not write anything again
    assert access_messages(settings.log_dir) == module_messages(entries[:600])
    for batch in batches(entries[600:], 100):
        await monitor.record(batch)
    assert access_messages(settings.log_dir) == module_messages(entries)
    assert monitor.access_log.status.ok


@pytest.mark.parametrize("written", ["nothing", "part"])
async def test_access_tee_crash_before_write(tmp_path: Path, written: str) -> None:
    entries = classroom(seed=4, n=800)
    settings = make_settings(tmp_path, tee_access_log=True)
    engine = open_engine(settings)
    monitor = await new_monitor(settings, engine)
    await monitor.record(entries[:300])
    access_file = settings.log_dir / ACCESS_LOG

    # The batch's access lines are staged in the cursor's transaction; the process dies before writing.
    for e in entries[300:500]:
        monitor.ingestor.add(e)
    _, access = monitor.ingestor.take()
    data = "".join(access).encode()
    with Session(engine) as db, db.begin():
        row = db.get(Checkpoint, CHECKPOINT)
        assert row is not None
        row.cursor = entries[499].cursor
        row.state = json.dumps(monitor.store.to_state())
        assert monitor.access_log.stage(db, data, date.today())
    if written == "part":
        with access_file.open("ab") as f:
            f.write(data[:101])
    engine.dispose()

    engine = open_engine(settings)
    monitor = await new_monitor(settings, engine)
    assert access_messages(settings.log_dir) == module_messages(entries[:500])
    assert monitor.cursor == entries[499].cursor
    await monitor.record(entries[500:])
    assert access_messages(settings.log_dir) == module_messages(entries)


# ---------------------------------------------------------------- unwritable log directory


async def test_unwritable_log_dir_keeps_records_and_catches_up(tmp_path: Path, utc_tz: None) -> None:
    entries = classroom(seed=7, n=3000)
    reference = make_settings(tmp_path, "reference", tee_access_log=True)
    ref_engine = await run_through(reference, entries, size=300)
    expected_rows = live_rows(ref_engine)

    settings = make_settings(tmp_path, tee_access_log=True)
    engine = open_engine(settings)
    monitor = await new_monitor(settings, engine)
    for batch in batches(entries[:900], 300):
        await monitor.record(batch)
    assert monitor.sessions_log.status.ok
    written_before = all_sessions(settings.log_dir)

    aside = block_dir(settings.log_dir)
    for batch in batches(entries[900:2100], 300):
        await monitor.record(batch)
    status = monitor.sessions_log.status
    assert not status.ok
    assert str(settings.log_dir) in status.detail and "not writable" in status.detail
    assert "\n" not in status.detail
    assert not monitor.access_log.status.ok
    # the records are safe in the database, the cursor moved on
    assert live_rows(engine) == expected_rows[: len(live_rows(engine))]
    assert len(live_rows(engine)) > written_before.count("\n")
    assert checkpoint(engine)[0] == entries[2099].cursor
    await monitor.tick()  # a retry while still broken changes nothing
    assert not monitor.sessions_log.status.ok
    assert settings.log_dir.read_text() == "not a directory\n"

    unblock_dir(settings.log_dir, aside)
    await monitor.tick()
    assert monitor.sessions_log.status.ok and monitor.sessions_log.status.detail == ""
    assert monitor.access_log.status.ok
    assert all_sessions(settings.log_dir) == expected_log(live_rows(engine))
    assert access_messages(settings.log_dir) == module_messages(entries[:2100])

    for batch in batches(entries[2100:], 300):
        await monitor.record(batch)
    assert live_rows(engine) == expected_rows
    assert all_sessions(settings.log_dir) == all_sessions(reference.log_dir)
    assert access_messages(settings.log_dir) == module_messages(entries)


async def test_unwritable_at_start_then_recreated(tmp_path: Path) -> None:
    """The directory is gone and blocked; once the blocker is removed the writer recreates it."""
    settings = make_settings(tmp_path)
    engine = open_engine(settings)
    monitor = await new_monitor(settings, engine)
    settings.log_dir.parent.mkdir(parents=True, exist_ok=True)
    settings.log_dir.write_text("x")
    await monitor.record(SCENE)
    assert not monitor.sessions_log.status.ok
    assert live_rows(engine) == SCENE_ROWS
    settings.log_dir.unlink()
    await monitor.persist()
    assert monitor.sessions_log.status.ok
    assert (settings.log_dir / SESSIONS_LOG).read_text() == expected_log(SCENE_ROWS)


@pytest.mark.parametrize("written", ["part", "all"])
async def test_crash_after_delayed_write_is_not_repeated(tmp_path: Path, written: str) -> None:
    """A write that failed (directory unwritable) is retried later; a crash right after that retry
    wrote the file, before the database learnt it, must not put the lines in twice."""
    settings = make_settings(tmp_path)
    engine = open_engine(settings)
    monitor = await new_monitor(settings, engine)
    await monitor.record(SCENE[:4])
    log_file = settings.log_dir / SESSIONS_LOG
    before = log_file.read_text()
    assert before == expected_log(SCENE_ROWS[:1])

    aside = block_dir(settings.log_dir)
    await monitor.record(SCENE[4:])
    assert not monitor.sessions_log.status.ok
    with Session(engine) as db:
        row = db.get(LogWriterRow, SESSIONS_STEM)
        assert row is not None and row.intent_data is not None
        assert row.intent_offset is None  # the directory could not say where the data would go
        pending = row.intent_data
    unblock_dir(settings.log_dir, aside)
    # The retry first commits where the data will go (what `complete` does before writing), writes
    # (part of) the data... and the process dies before clearing the intent.
    assert monitor.sessions_log._pin_offset(local_day(T0 + 130_000))
    with log_file.open("ab") as f:
        f.write(pending if written == "all" else pending[:50])
    engine.dispose()

    engine = open_engine(settings)
    await new_monitor(settings, engine)
    assert log_file.read_text() == expected_log(SCENE_ROWS)


# ---------------------------------------------------------------- day change


async def test_day_change_archives_yesterday(tmp_path: Path, utc_tz: None) -> None:
    today = date.today()
    day1 = today - timedelta(days=3)
    day2 = day1 + timedelta(days=1)
    d1 = int(datetime(day1.year, day1.month, day1.day, tzinfo=UTC).timestamp() * 1000)
    d2 = d1 + 86_400_000
    settings = make_settings(tmp_path)
    engine = open_engine(settings)
    monitor = await new_monitor(settings, engine)
    log_dir = settings.log_dir

    await monitor.record(
        [
            entry(A, d1 + 10 * 3600_000, "cdn_math"),
            entry(A, d1 + 10 * 3600_000 + 50_000, "cdn_bio"),  # math, 50 s, ends on day 1
            entry(B, d2 - 120_000, "cdn_art"),
        ]
    )
    assert (log_dir / SESSIONS_LOG).read_text() == format_session_line(
        d1 + 10 * 3600_000 + 50_000, "Guest", A, "cdn_math", 50
    )
    # one batch holding both days: B's art ends after midnight, C's math later on day 2
    await monitor.record(
        [
            entry(B, d2 + 60_000, "cdn_art", asset=True),
            entry(B, d2 + 90_000, "cdn_math"),  # art, 210 s, ends on day 2
            entry(C, d2 + 3600_000, "cdn_math"),
            entry(C, d2 + 3600_000 + 30_000, "cdn_bio"),  # math, 30 s
        ]
    )
    day1_zip = log_dir / f"{SESSIONS_STEM}-{day1.isoformat()}.log.zip"
    assert day1_zip.exists()
    with zipfile.ZipFile(day1_zip) as zf:
        assert zf.namelist() == [f"{SESSIONS_STEM}-{day1.isoformat()}.log"]
        assert zf.read(zf.namelist()[0]).decode() == format_session_line(
            d1 + 10 * 3600_000 + 50_000, "Guest", A, "cdn_math", 50
        )
    day2_lines = format_session_line(d2 + 90_000, "Guest", B, "cdn_art", 210) + format_session_line(
        d2 + 3600_000 + 30_000, "Guest", C, "cdn_math", 30
    )
    assert (log_dir / SESSIONS_LOG).read_text() == day2_lines

    # the midnight job archives day 2 as well (it is before today)
    await monitor.rotate_due()
    assert not (log_dir / SESSIONS_LOG).exists()
    with zipfile.ZipFile(log_dir / f"{SESSIONS_STEM}-{day2.isoformat()}.log.zip") as zf:
        assert zf.read(f"{SESSIONS_STEM}-{day2.isoformat()}.log").decode() == day2_lines
    assert sorted(p.name for p in log_dir.iterdir() if not p.name.startswith(".")) == [
        f"{SESSIONS_STEM}-{day1.isoformat()}.log.zip",
        f"{SESSIONS_STEM}-{day2.isoformat()}.log.zip",
    ]
    assert len(live_rows(engine)) == 3


# ---------------------------------------------------------------- wall-clock expiry


async def test_wall_clock_expiry_when_following(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, idle_timeout_seconds=300)
    engine = open_engine(settings)
    monitor = await new_monitor(settings, engine)
    assert monitor.effective_now_ms() is None
    await monitor.record(
        [
            entry(A, T0, "cdn_math"),
            entry(A, T0 + 40_000, "cdn_math", asset=True),
            entry(B, T0 + 200_000, "cdn_art"),
            entry(B, T0 + 250_000, "cdn_art", asset=True),
        ]
    )
    now = monitor.effective_now_ms()
    assert now is not None and now >= T0 + 250_000
    assert len(monitor.store) == 2

    # Ten minutes of wall time pass without a line (the monotonic reference moves back by that much).
    clock, seen_at = monitor._clock_seen
    monitor._clock_seen = (clock, seen_at - 600)
    now = monitor.effective_now_ms()
    assert now is not None and now >= T0 + 250_000 + 600_000

    monitor.reader_state.status = "restarting"  # not following: no expiry on the wall clock
    await monitor.tick()
    assert len(monitor.store) == 2 and live_rows(engine) == []

    monitor.reader_state.status = "following"
    await monitor.tick()
    assert len(monitor.store) == 0
    rows = [
        (T0, T0 + 40_000, "Guest", A, "cdn_math", 40, "idle", LIVE),
        (T0 + 200_000, T0 + 250_000, "Guest", B, "cdn_art", 50, "idle", LIVE),
    ]
    assert live_rows(engine) == rows
    assert (settings.log_dir / SESSIONS_LOG).read_text() == expected_log(rows)
    assert checkpoint(engine)[1]["open"] == []

    # the expiry is durable: a restart has nothing open and writes nothing again
    monitor = await new_monitor(settings, engine)
    assert len(monitor.store) == 0
    assert (settings.log_dir / SESSIONS_LOG).read_text() == expected_log(rows)


async def test_expiry_only_closes_idle_sessions(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, idle_timeout_seconds=300)
    engine = open_engine(settings)
    monitor = await new_monitor(settings, engine)
    await monitor.record([entry(A, T0, "cdn_math"), entry(A, T0 + 10_000, "cdn_math", asset=True)])
    await monitor.record([entry(B, T0 + 280_000, "cdn_art"), entry(B, T0 + 290_000, "cdn_art", asset=True)])
    clock, seen_at = monitor._clock_seen
    monitor._clock_seen = (clock, seen_at - 60)  # one minute later: A idle 340 s, B 70 s
    monitor.reader_state.status = "following"
    await monitor.tick()
    assert [s.ip for s in monitor.store.sessions()] == [B]
    assert live_rows(engine) == [(T0, T0 + 10_000, "Guest", A, "cdn_math", 10, "idle", LIVE)]


def test_restore_restarts_the_wall_clock_reference(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    engine = open_engine(settings)
    with Session(engine) as db, db.begin():
        state = {"clock": T0, "dropped": 0, "open": [[A, "Guest", "cdn_math", T0 - 5_000, T0]]}
        db.add(Checkpoint(name=CHECKPOINT, cursor="s=x;i=9", state=json.dumps(state), updated_ms=0))
    before = time.monotonic()
    monitor = Recorder(settings, engine)
    monitor.restore()
    assert monitor.cursor == "s=x;i=9"
    assert monitor.store.get(A, "Guest") is not None
    assert monitor._clock_seen[0] == T0 and monitor._clock_seen[1] >= before
    now = monitor.effective_now_ms()
    assert now is not None and now >= T0


async def test_log_dir_recreated_when_removed(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    engine = open_engine(settings)
    monitor = await new_monitor(settings, engine)
    await monitor.record(SCENE[:4])
    shutil.rmtree(settings.log_dir)
    await monitor.record(SCENE[4:])
    assert monitor.sessions_log.status.ok
    assert (settings.log_dir / SESSIONS_LOG).read_text() == expected_log(SCENE_ROWS[1:])


async def test_saved_open_sessions_equal_a_full_rebuild_after_every_batch(tmp_path: Path) -> None:
    """Differential over the dense bench corpus: the recorder re-encodes only the sessions changed
    since its last save; what each batch's checkpoint holds must be what a full rebuild of the
    store's state (`to_state`) gives — also across pings, closes and a restart from the checkpoint."""
    import random

    from bench.corpora import SHAPES

    rng = random.Random(21)
    lines = list(SHAPES["dense"](3).day(2_500))
    entries = [JournalEntry(f"s=d;i={i}", line.time_ms * 1000, line.message) for i, line in enumerate(lines)]
    settings = make_settings(tmp_path)
    engine = open_engine(settings)
    monitor = await new_monitor(settings, engine)
    at = 0
    while at < len(entries):
        batch, now_ms = entries[at : at + rng.randint(1, 80)], lines[at].time_ms
        at += len(batch)
        sessions = monitor.sessions()
        if sessions and rng.random() < 0.3:  # a module page's ping or close, saved with this batch
            s = rng.choice(sessions)
            event = "ping" if rng.random() < 0.5 else "close"
            monitor.heartbeat(s.ip, s.user, s.module, event, now_ms)
        await monitor.record(batch)
        _, state = checkpoint(engine)
        assert {k: state[k] for k in ("clock", "dropped", "open")} == monitor.store.to_state(), f"after {at}"
        if rng.random() < 0.05:
            monitor = await new_monitor(settings, engine)
    assert len(monitor.sessions()) > 0
