"""Issue 17.3 / 18.6: every control character in a value is one space (DESIGN §4) — in the parser, the
files, the database, the CSV — and what a database still refuses is set aside cheaply, by backfill as
by live reading, in a bounded table; migration 0009 rewrites the rows stored before."""

from __future__ import annotations

import json
import random
import string
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, insert, select, text
from sqlalchemy.orm import Session

from gaze.csvrow import cdn_row
from gaze.db import IMPORT, LIVE, RecordRow, make_engine
from gaze.logline import classify
from gaze.logs.format import clean_field, format_session_line
from gaze.recorder import Recorder
from gaze.records import Rollup, add_records, rebuild_rollups
from gaze.sessions import SessionRecord
from tests.conftest import ROOT, foreign_environ
from tests.migrationkit import tables as _tables
from tests.migrationkit import upgrade as _upgrade
from tests.recorderkit import make_settings

T0 = int(datetime(2026, 5, 4, 14, 30, tzinfo=UTC).timestamp() * 1000)
CONTROLS = [chr(c) for c in (*range(0x20), 0x7F)]
# On PostgreSQL a roll-up key over about 2,700 bytes after compression does not fit its index.
LONG_SLUG = "".join(random.Random(7).choices(string.ascii_letters + string.digits, k=3000))


def test_every_control_character_is_one_space() -> None:
    assert clean_field("".join(CONTROLS)) == " " * 33
    assert clean_field("ab\x00cd\tef") == "ab cd ef"
    for kept in ("anna@example.com", "é ü", "\x80\x9f", "\u2028", " "):  # only U+0000-U+001F and U+007F
        assert clean_field(kept) == kept
    assert format_session_line(T0, "a\x00b", "10.0.0.1", "m\x1bx", 5).split("\t")[1:3] == [
        "userId=a b|10.0.0.1",
        "moduleId=m x",
    ]
    assert cdn_row(T0, "a\x00b|c", "10.0.0.1", "m", 5, "Name\x7f")[::2] == ("a b|c", "10.0.0.1", "Name ")


def test_the_parser_gives_values_without_control_characters() -> None:
    def hit(who: str, target: str) -> Any:
        return classify(f'info: 192.168.1.20{who} - [2026-05-04T14:30:00.000Z] "GET {target} HTTP/1.1" 200')

    assert hit("", "/modules/cdn_math/index.html?user=ab%00cd%09ef").user == "ab cd ef"
    assert hit(" user=x%01y%7Fz", "/modules/cdn_math/index.html").user == "x y z"
    assert hit(" user=%00%1F", "/modules/cdn_math/index.html").user == "Guest"  # only controls: nobody
    assert hit("", "/modules/cdn%00geo/index.html").module == "cdn geo"
    trailer = (
        'info: 10.0.0.1 - [2026-05-04T14:30:00.000Z] "GET /modules/m/index.html HTTP/1.1" 200 {"user":"q\\u0000r"}'
    )
    assert classify(trailer).user == "q r"  # type: ignore[union-attr]


def _journal(path: Path, users: list[str], slugs: dict[int, str] | None = None) -> Path:
    """Two hits (entry, then an asset 30 s later) per user (a `?query`, else what follows the status),
    one device per user."""
    lines = []
    for k, user in enumerate(users):
        for step, page in ((0, "index.html"), (30_000, "app.js")):
            at = T0 + k * 1000 + step
            stamp = datetime.fromtimestamp(at / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
            query, trailer = (user, "") if user.startswith("?") else ("", user)
            slug = (slugs or {}).get(k, "cdn_math")
            message = f'info: 10.0.0.{k + 1} - [{stamp}] "GET /modules/{slug}/{page}{query} HTTP/1.1" 200{trailer}'
            lines.append({"__CURSOR": f"c{k}-{step}", "__REALTIME_TIMESTAMP": str(at * 1000), "MESSAGE": message})
    lines.sort(key=lambda line: int(line["__REALTIME_TIMESTAMP"]))
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def _backfill(tmp_path: Path, source: Path, url: str) -> subprocess.CompletedProcess[str]:
    env = foreign_environ()
    env.update(MODULEGAZE_DATA_DIR=str(tmp_path / "data"), TZ="UTC", MODULEFETCH_LOG_DIR=str(tmp_path / "logs"))
    argv = [sys.executable, "main.py", "backfill", "--input", str(source), "--database-url", url]
    return subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def _rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(sql))]
    finally:
        engine.dispose()


def _log(tmp_path: Path) -> list[str]:
    path = tmp_path / "logs" / "modulegaze-sessions.log"
    return path.read_text().splitlines() if path.exists() else []


def test_backfill_of_a_nul_and_a_tab_records_them_as_spaces(db_url: str, tmp_path: Path) -> None:
    """The bar: two hits with ?user=ab%00cd%09ef — before, PostgreSQL: the NUL in the file, a
    DataError traceback, 0 rows; SQLite: the NUL in the file and in the row."""
    result = _backfill(tmp_path, _journal(tmp_path / "in.json", ["?user=ab%00cd%09ef"]), db_url)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert [line.split("\t")[1] for line in _log(tmp_path)] == ["userId=ab cd ef|10.0.0.1"]
    assert _rows(db_url, "SELECT user_id FROM session_record") == [("ab cd ef",)]
    assert _rows(db_url, "SELECT kind FROM set_aside") == []
    assert "set aside" not in result.stdout


def test_backfill_sets_aside_what_the_database_refuses(db_url: str, tmp_path: Path) -> None:
    """Text that is not UTF-8 (a lone surrogate from a JSON escape), and on PostgreSQL a roll-up key
    too long for its index: set aside as live reading does, in neither the files nor the database —
    before, a traceback after the line was written (surrogate: UnicodeEncodeError, long: index row)."""
    users = ["?user=first", ' {"user":"x\\ud800y"}', "?user=long", "?user=last"]
    source = _journal(tmp_path / "in.json", users, {2: LONG_SLUG})  # a module name of 3,000 varied characters
    result = _backfill(tmp_path, source, db_url)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    postgres = db_url.startswith("postgresql")
    refused = 2 if postgres else 1
    assert f"set aside:        {refused} (table set_aside" in result.stdout
    aside = [json.loads(data)["user"] for (data,) in _rows(db_url, "SELECT data FROM set_aside ORDER BY id")]
    assert sorted(aside) == (["long", "x\ud800y"] if postgres else ["x\ud800y"])
    stored = _rows(db_url, "SELECT user_id FROM session_record ORDER BY id")
    logged = [line.split("\t")[1].removeprefix("userId=").rsplit("|", 1)[0] for line in _log(tmp_path)]
    assert sorted(logged) == sorted(user for (user,) in stored)  # the files and the database agree
    assert sorted(logged) == (["first", "last"] if postgres else ["first", "last", "long"])


def _records(n: int, poison: dict[int, str]) -> list[SessionRecord]:
    return [SessionRecord(f"10.1.{k // 250}.{k % 250}", f"u{k}", poison.get(k, "cdn_math"), T0, T0 + 60_000 + k, "idle")
            for k in range(n)]  # fmt: skip


@pytest.mark.postgres
async def test_a_refused_record_costs_a_few_savepoints_not_one_per_record(pg_migrated_url: str, tmp_path: Path) -> None:
    """Before: the batch failed whole, then every record got its own savepoint (200 here, 300 below)."""
    engine = make_engine(pg_migrated_url)
    savepoints: list[str] = []
    event.listen(engine, "savepoint", lambda _conn, name: savepoints.append(name))
    try:
        monitor = Recorder(make_settings(tmp_path, database_url=pg_migrated_url), engine)
        monitor.restore()
        monitor.ingestor.pending_records.extend(_records(200, {137: LONG_SLUG}))
        assert await monitor.persist()
        assert monitor.set_aside.count == 1 and "index row size" in monitor.set_aside.last_error
        with Session(engine) as db:
            assert db.scalar(select(RecordRow.id).where(RecordRow.module == LONG_SLUG)) is None
            assert len(db.scalars(select(RecordRow.id)).all()) == 199
        assert len(savepoints) == 3  # the records before the long one, the long one alone, the rest
        savepoints.clear()
        # forced: a duration over PostgreSQL's integer (no real session lasts 68 years) is refused,
        # among ordinary keys: found by halving, about 2·log2(100) savepoints for each
        batch = _records(300, {})[200:]
        batch[41] = SessionRecord("10.2.0.1", "old", "m", 0, 2**32 * 1000, "idle")
        batch[77] = SessionRecord("10.2.0.2", "old", "m", 0, 2**32 * 1000 + 1, "idle")
        monitor.ingestor.pending_records.extend(batch)
        assert await monitor.persist()
        assert monitor.set_aside.count == 3 and "out of range" in monitor.set_aside.last_error
        assert len(savepoints) <= 2 * (2 * 7) + 1
        with Session(engine) as db:
            assert len(db.scalars(select(RecordRow.id)).all()) == 199 + 98
        savepoints.clear()
        monitor.ingestor.pending_records.extend(_records(400, {})[300:])
        assert await monitor.persist()
        assert len(savepoints) == 1  # a batch stored whole: one
    finally:
        engine.dispose()


def test_migration_0009_rewrites_control_characters_and_keeps_the_rollups_right(db_url: str) -> None:
    engine = make_engine(db_url)
    nul = "\x00" if engine.dialect.name == "sqlite" else "\x01"  # PostgreSQL never stored a NUL
    try:
        _upgrade(engine, "0008")
        dirty = [  # as earlier versions stored them, roll-ups under the raw key
            SessionRecord("10.0.0.1", f"Kofi{nul}Mensah", "cdn_math", T0 - 125_000, T0, "idle"),
            SessionRecord("10.0.0.2", "ama", "cdn\x1bbio", T0 - 30_000, T0 + 1000, "idle"),
            SessionRecord("10.0.0.3", "x\x7f\x1fy", "cdn_geo", T0 - 3_700_000, T0 + 2000, "idle"),
        ]
        with engine.begin() as conn:
            rollup = Rollup()
            for r in dirty:
                values = dict(end_ms=r.end_ms, start_ms=r.start_ms, user_id=r.user, ip=r.ip, module=r.module,
                              duration_s=r.duration_s, reason=r.reason, source=LIVE)  # fmt: skip
                conn.execute(insert(RecordRow.__table__).values(values))
                rollup.add(r.end_ms, r.duration_s, r.module, r.ip, r.user)
            rollup.write(conn)
            twins = [  # import-logs of the new files: the same records with spaces, and a clean one
                SessionRecord("10.0.0.1", "Kofi Mensah", "cdn_math", T0 - 125_000, T0, "import"),
                SessionRecord("10.0.0.2", "ama", "cdn bio", T0 - 30_000, T0 + 1000, "import"),
                SessionRecord("10.0.0.4", "clean", "cdn_math", T0 - 60_000, T0, "import"),
            ]
            assert add_records(conn, twins, IMPORT) == 3
        _upgrade(engine, "head")
        with Session(engine) as db:
            rows = db.execute(select(RecordRow.user_id, RecordRow.module, RecordRow.source).order_by(RecordRow.id))
            assert list(rows) == [
                ("Kofi Mensah", "cdn_math", LIVE), ("ama", "cdn bio", LIVE), ("x  y", "cdn_geo", LIVE),
                ("Kofi Mensah", "cdn_math", IMPORT), ("ama", "cdn bio", IMPORT), ("clean", "cdn_math", IMPORT),
            ]  # fmt: skip
        migrated = _tables(engine)
        with engine.begin() as conn:  # what the application itself computes from the rows
            rebuild_rollups(conn)
        assert migrated == _tables(engine)
        assert [row[0] for row in migrated["session_duplicate"]] == [4, 5]
    finally:
        engine.dispose()


@pytest.mark.postgres
async def test_a_lock_timeout_is_retried_never_set_aside(pg_migrated_url: str, tmp_path: Path) -> None:
    """A refusal no record is to blame for (here a lock not granted in time: SQLSTATE 55P03; a full
    disk is class 53) keeps the batch for the next attempt. Before: its records were set aside, and
    so never reached the files."""
    engine = make_engine(pg_migrated_url + "%20-clock_timeout%3D300")
    try:
        monitor = Recorder(make_settings(tmp_path, database_url=pg_migrated_url), engine)
        monitor.restore()
        monitor.ingestor.pending_records.extend(_records(1, {}))
        assert await monitor.persist()
        with engine.connect() as other, other.begin():
            other.execute(text("SELECT * FROM usage_daily FOR UPDATE"))  # held by another connection
            later = SessionRecord("10.1.0.0", "u0", "cdn_math", T0, T0 + 90_000, "idle")  # the same roll-up row: waits
            monitor.ingestor.pending_records.append(later)
            assert not await monitor.persist()
        assert monitor.set_aside.count == 0 and monitor.write_error and "lock" in monitor.write_error
        assert await monitor.persist()  # the lock is gone: stored
        assert monitor.set_aside.count == 0 and len(_rows(pg_migrated_url, "SELECT id FROM session_record")) == 2
    finally:
        engine.dispose()
