"""Taking over a log folder another writer filled (DESIGN §4): the first start with no checkpoint reads
oc4d's log from just after the folder's latest record, and the folder's records go into the history once.

In-process tests feed JournalEntry batches to a real Recorder (real SQLite, real log folder); the end
to end test runs `main.py follow` over a real .journal file and then `main.py export`.
"""

from __future__ import annotations

import csv
import io
import subprocess
import sys
import zipfile
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from gaze.db import IMPORT, LIVE, RecordRow
from gaze.journal import JournalEntry
from gaze.logs.format import format_session_line, iso_utc_ms
from gaze.logs.importer import parse_session_line
from gaze.recorder import Recorder
from gaze.sessions import SessionRecord
from gaze.takeover import at_end, since_ms, take_over
from tests import journalkit
from tests.conftest import ROOT, require, timezone
from tests.livekit import corpus, env_for, last_cursor, session_log, start_follower, stop, wait_for_cursor, write
from tests.recorderkit import T0, A, B, checkpoint, entry, hit, make_settings, open_engine

S = 1000
H = T0 + 3600 * S  # the end of the latest record upstream wrote (15:30:00 UTC)


def upstream_lines(end_ms: int, n: int, ip: str = "10.0.0.9") -> str:
    """n session lines, the last ending at end_ms, as upstream wrote them."""
    return "".join(format_session_line(end_ms - (n - 1 - i) * 60 * S, "Guest", ip, f"m{i}", 30) for i in range(n))


def upstream_folder(log_dir: Path, *, today: int = 5, archived: int = 3) -> None:
    """Today's plain file up to H, an archive of the day before (upstream's epochMs name) and an mf- zip."""
    log_dir.mkdir(parents=True, exist_ok=True)
    (log_dir / "modulegaze-sessions.log").write_text(upstream_lines(H, today))
    with zipfile.ZipFile(log_dir / "modulegaze-sessions-2026-05-03-1777852800000.log.zip", "w") as zf:
        zf.writestr("modulegaze-sessions-2026-05-03.log", upstream_lines(H - 86_400 * S, archived, "10.0.0.8"))
    with zipfile.ZipFile(log_dir / "mf-2026-05-02-abc.zip", "w") as zf:
        zf.writestr(
            "modulefetch.json",
            '{"recordedAt": "2026-05-02T10:00:00.000Z", "userId": "Guest|10.0.0.7", "moduleId": "old",'
            ' "durationSeconds": 40}',
        )


def records(engine: Engine, source: str) -> int:
    with Session(engine) as db:
        return int(db.scalar(select(func.count()).select_from(RecordRow).where(RecordRow.source == source)) or 0)


# ---------------------------------------------------------------- MODULEGAZE_JOURNAL_SINCE as a time


def test_since_forms_as_journalctl_reads_them() -> None:
    now = int(datetime(2026, 5, 4, 14, 30, 15, tzinfo=UTC).timestamp() * 1000)
    with timezone("UTC"):
        midnight = int(datetime(2026, 5, 4, tzinfo=UTC).timestamp() * 1000)
        assert since_ms("today", now) == midnight
        assert since_ms("yesterday", now) == midnight - 86_400 * S
        assert since_ms("now", now) == now
        assert since_ms("2026-05-04", now) == midnight
        assert since_ms("2026-05-04 10:20", now) == midnight + (10 * 3600 + 20 * 60) * S
        assert since_ms("2026-05-04 10:20:30.5", now) == midnight + (10 * 3600 + 20 * 60 + 30) * S + 500
        assert since_ms("10:20", now) == midnight + (10 * 3600 + 20 * 60) * S
        assert since_ms("-2h", now) == now - 7200 * S
        assert since_ms("3 days ago", now) == now - 3 * 86_400 * S
        assert since_ms("1h 30min ago", now) == now - 5400 * S
        assert since_ms("@1777905000.25", now) == 1_777_905_000_250
        assert since_ms("2026-05-04 10:20 Europe/Berlin", now) == midnight + (8 * 3600 + 20 * 60) * S
        assert since_ms("2026-05-04 10:20 Nowhere/Atlantis", now) is None  # cannot tell: reading starts at H
    with timezone("Africa/Accra"):  # UTC+0 all year
        assert since_ms("today", now) == midnight
    with timezone("Asia/Kolkata"):  # UTC+5:30: local midnight of 4 May is 18:30 UTC on 3 May
        assert since_ms("today", now) == midnight - 19_800 * S


def test_reading_starts_at_the_end_to_the_millisecond() -> None:
    assert at_end(1_777_905_000_250) == "@1777905000.250"
    assert at_end(1_777_905_000_007) == "@1777905000.007"


# ---------------------------------------------------------------- take_over: the folder


def test_take_over_imports_the_folder_once_and_starts_after_its_latest_record(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    upstream_folder(settings.log_dir)
    engine = open_engine(settings)
    takeover = take_over(engine, settings.log_dir, "today", H + 600 * S)
    assert takeover is not None
    assert (takeover.records, takeover.added, takeover.latest_end_ms) == (9, 9, H)
    assert (takeover.since, takeover.from_ms) == (at_end(H), H)
    assert records(engine, IMPORT) == 9
    assert "9 session records" in takeover.log_text() and "--since=@" in takeover.log_text()
    text = takeover.status_text()
    assert "9 earlier sessions" in text and "journal" not in text.lower() and "cursor" not in text
    again = take_over(engine, settings.log_dir, None, H + 600 * S)  # the whole journal asked: H still wins
    assert again is not None and (again.records, again.added, again.since) == (9, 0, at_end(H))
    assert records(engine, IMPORT) == 9


def test_a_later_journal_since_wins(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    upstream_folder(settings.log_dir)
    engine = open_engine(settings)
    later = f"@{(H + 60 * S) // 1000}"
    takeover = take_over(engine, settings.log_dir, later, H + 600 * S)
    assert takeover is not None and (takeover.since, takeover.from_ms) == (later, H + 60 * S)
    assert "(MODULEGAZE_JOURNAL_SINCE)" in takeover.log_text()


def test_nothing_to_take_over(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    engine = open_engine(settings)
    assert take_over(engine, settings.log_dir, "today", H) is None  # no folder
    settings.log_dir.mkdir(parents=True)
    (settings.log_dir / "modulegaze-sessions.log").write_text("not a session line\n")
    (settings.log_dir / "modulegaze-access.log").write_text("2026-05-04T14:00:00.000Z\tinfo: x\n")
    assert take_over(engine, settings.log_dir, "today", H) is None


# ---------------------------------------------------------------- the monitor's first start


async def test_first_start_takes_over_and_writes_nothing_ending_at_or_before_h(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, journal_since="all")
    upstream_folder(settings.log_dir)
    before = (settings.log_dir / "modulegaze-sessions.log").read_text()
    engine = open_engine(settings)
    monitor = Recorder(settings, engine, wall_ms=lambda: H + 600 * S)
    monitor.restore()
    assert monitor.takeover is not None and monitor.since == at_end(H)
    cursor, state = checkpoint(engine)  # saved at once: a restart before the first line keeps it
    assert cursor is None and state["since"] == at_end(H) and state["clock"] == H
    # B's request at H reached the journal 3 ms later (after the reading starts): its time is clamped
    # to H, so the session it starts cannot end at or before H; A's session straddles H: it is ours
    # from its first request read.
    b_at_h = JournalEntry("c-b", (H + 3) * 1000, hit(B, H - 2, "/modules/mb/index.html"))
    late = [b_at_h, entry(B, H + 400, "mb", asset=True), entry(A, H + 1 * S, "ma"), entry(B, H + 2 * S, "mc")]
    late += [entry(A, H + 90 * S, "ma", asset=True), entry(A, H + 2000 * S, "zz")]  # the last expires both
    await monitor.record(late)
    written = (settings.log_dir / "modulegaze-sessions.log").read_text()
    assert written.startswith(before)
    ours = [parse_session_line(line) for line in written[len(before) :].splitlines()]
    assert [(r.ip, r.module, r.start_ms, r.end_ms) for r in ours if r is not None] == [
        (B, "mb", H, H + 2 * S),
        (A, "ma", H + 1 * S, H + 90 * S),
    ]
    assert records(engine, IMPORT) == 9 and records(engine, LIVE) == 2

    # a restart resumes from the cursor; it takes nothing over again
    restarted = Recorder(settings, engine)
    restarted.restore()
    assert restarted.takeover is None and restarted.cursor == late[-1].cursor
    assert records(engine, IMPORT) == 9


async def test_restart_before_the_first_line_keeps_the_start(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, journal_since="today")
    upstream_folder(settings.log_dir)
    engine = open_engine(settings)
    Recorder(settings, engine, wall_ms=lambda: H + 600 * S).restore()
    (settings.log_dir / "modulegaze-sessions.log").unlink()  # whatever the folder holds now
    again = Recorder(settings, engine)
    again.restore()
    assert again.takeover is None and again.cursor is None and again.since == at_end(H)
    assert again.store.clock_ms == H


async def test_no_takeover_with_a_checkpoint_of_ours_or_in_demo(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    engine = open_engine(settings)
    ours = Recorder(settings, engine)
    ours.restore()
    assert ours.takeover is None  # nothing in the folder
    await ours.record([entry(A, T0, "ma")])
    upstream_folder(settings.log_dir)  # lines appear later (another writer): not a first start
    later = Recorder(settings, engine)
    later.restore()
    assert later.takeover is None and later.since == "today"
    demo_settings = make_settings(tmp_path, "demo")
    upstream_folder(demo_settings.log_dir)
    demo_engine = open_engine(demo_settings)
    demo = Recorder(demo_settings, demo_engine, demo=True)
    demo.restore()
    assert demo.takeover is None and records(demo_engine, IMPORT) == 0


# ---------------------------------------------------------------- end to end: a real journal


def _parse(line: str) -> SessionRecord:
    record = parse_session_line(line.rstrip("\n"))
    assert record is not None
    return record


def _end(line: str) -> int:
    return _parse(line).end_ms


def _export(env: dict[str, str], day: str) -> list[dict[str, str]]:
    result = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "export", "--since", day, "--until", day],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return list(csv.DictReader(io.StringIO(result.stdout)))


def _row_key(row: dict[str, str]) -> tuple[str, ...]:
    return (row["Access Date"], row["Access Time"], row["User"], row["IP Address"], row["Module ID"])


def _record_key(record: SessionRecord) -> tuple[str, ...]:
    end = datetime.fromtimestamp(record.end_ms / 1000, UTC)
    return (end.strftime("%Y-%m-%d"), end.strftime("%H:%M:%S"), record.user, record.ip, record.module)


@pytest.mark.journal
def test_follow_over_upstreams_folder_writes_no_session_twice(tmp_path: Path) -> None:
    """The issue's bar: the folder holds the reference lines up to H, `follow` reads the whole day's
    journal (JOURNAL_SINCE=all) → 0 lines rewritten ending at or before H, the later ones written,
    0 duplicates, and the day's export has every record (the folder's and ours)."""
    require(journalkit.available(), "systemd-journal-remote and journalctl")
    lines = corpus(seed=11, entries=24_000)
    journal = tmp_path / "oc4d.journal"
    write(journal, lines)
    reference_dir = tmp_path / "reference"
    env = env_for(journal, reference_dir, f"sqlite:///{tmp_path / 'ref.db'}")
    done = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "backfill", "--file", str(journal), "--no-database"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr.decode()
    reference = session_log(reference_dir).splitlines(keepends=True)
    assert len(reference) > 300
    h = _end(reference[159])
    upstream = [line for line in reference if _end(line) <= h]
    assert len(upstream) >= 160
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    (log_dir / "modulegaze-sessions.log").write_text("".join(upstream))  # the folder at the hand-over

    db_url = f"sqlite:///{tmp_path / 'gaze.db'}"
    env = env_for(journal, log_dir, db_url)  # MODULEGAZE_JOURNAL_SINCE=all: the whole journal
    follower = start_follower(env, tmp_path / "follower.log")
    try:
        wait_for_cursor(db_url, last_cursor(journal), follower)
    finally:
        assert stop(follower) == 0, (tmp_path / "follower.log").read_text()

    written = session_log(log_dir)
    assert written.startswith("".join(upstream))  # the folder's lines untouched, ours after them
    ours = Counter(written.splitlines(keepends=True)) - Counter(upstream)
    rewritten = [line for line in ours if _end(line) <= h]
    assert rewritten == [], f"{len(rewritten)} lines ending at or before the hand-over written again"
    duplicates = sum(n - 1 for n in Counter(written.splitlines()).values() if n > 1)
    assert duplicates == 0
    after = [line for line in reference if _end(line) > h]
    assert len(ours) > 0.8 * len(after)  # the sessions after H are ours (those open at H start later)

    # a session that started after H, for a device with nothing open at H, is exactly the reference's
    parsed = {line: _parse(line) for line in reference}
    straddling = {(r.ip, r.user) for r in parsed.values() if r.start_ms <= h < r.end_ms}
    clean = {line for line, r in parsed.items() if r.start_ms > h and (r.ip, r.user) not in straddling}
    assert clean and clean <= set(ours)

    day = datetime.fromtimestamp(h / 1000, UTC).date().isoformat()
    assert day == date(2026, 5, 4).isoformat()
    exported = Counter(_row_key(row) for row in _export(env, day))
    expected = Counter(_record_key(_parse(line)) for line in upstream + list(ours))
    assert exported == expected
    log_text = (tmp_path / "follower.log").read_text()
    assert "taking over the log folder" in log_text and f"{len(upstream):,} session records" in log_text


async def test_the_access_lines_the_earlier_writer_teed_are_not_teed_again(tmp_path: Path) -> None:
    """Upstream teed oc4d's module lines into modulegaze-access.log until the hand-over, later than
    the end of its latest session record (H), where our reading starts: those lines are not written
    again — also after a restart in between — and every later one is, once."""
    settings = make_settings(tmp_path, journal_since="all", tee_access_log=True)
    upstream_folder(settings.log_dir)
    handover = H + 120 * S
    teed = [hit(A, H + k * 30 * S, "/modules/ma/index.html") for k in range(5)]  # H … H + 120 s
    access = settings.log_dir / "modulegaze-access.log"
    access.write_text("".join(f"{iso_utc_ms(H + k * 30 * S + 40)}\t{line}\n" for k, line in enumerate(teed)))
    engine = open_engine(settings)
    first = Recorder(settings, engine, wall_ms=lambda: handover + 60 * S)
    first.restore()
    assert first.takeover is not None and first.takeover.teed_until_ms == H + 120 * S + 40
    read = [JournalEntry(f"c{k}", (H + k * 30 * S) * 1000, line) for k, line in enumerate(teed)]
    await first.record(read[:2])
    restarted = Recorder(settings, engine)  # a restart while still inside what upstream teed
    restarted.restore()
    later = [entry(A, handover + 10 * S, "ma"), entry(B, handover + 20 * S, "mb")]
    await restarted.record(read[2:] + later)
    lines = []  # the day's file was archived when our first line (written today) came: read both
    for path in sorted(settings.log_dir.glob("modulegaze-access*")):
        if path.suffix == ".zip":
            with zipfile.ZipFile(path) as zf:
                lines += zf.read(zf.namelist()[0]).decode().splitlines()
        else:
            lines += path.read_text().splitlines()
    assert [line.split("\t", 1)[1] for line in lines] == teed + [e.message for e in later]
