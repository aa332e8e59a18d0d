"""Helpers for driving the live Recorder in-process (tests/test_recorder.py and the scenarios that reuse it):
settings in a temporary folder, a migrated engine, journal entries and a small scene, and readers of
what landed in the database and the log files."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from gaze.checkpoint import CHECKPOINT
from gaze.config import Settings, load_settings
from gaze.db import LIVE, Checkpoint, RecordRow, make_engine, migrate
from gaze.journal import JournalEntry
from gaze.logs.format import ACCESS_STEM, SESSIONS_STEM, format_session_line
from gaze.recorder import Recorder
from gaze.simulator import Classroom
from tests.conftest import seed_migrated

A = "192.168.1.20"
B = "192.168.1.21"
C = "192.168.1.22"
T0 = int(datetime(2026, 5, 4, 14, 30, tzinfo=UTC).timestamp() * 1000)
SESSIONS_LOG = f"{SESSIONS_STEM}.log"
ACCESS_LOG = f"{ACCESS_STEM}.log"

Row = tuple[int, int, str, str, str, int, str, str]


# ---------------------------------------------------------------- helpers


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def hit(ip: str, at_ms: int, target: str, user: str | None = None) -> str:
    who = f" user={user}" if user else ""
    return f'info: ::ffff:{ip}{who} - [{iso(at_ms)}] "GET {target} HTTP/1.1" 200'


def entry(ip: str, at_ms: int, module: str, *, asset: bool = False, cursor: str | None = None) -> JournalEntry:
    target = f"/modules/{module}/img/a.png" if asset else f"/modules/{module}/index.html"
    return JournalEntry(cursor or f"c-{ip}-{at_ms}", at_ms * 1000, hit(ip, at_ms, target))


def classroom(seed: int, n: int) -> list[JournalEntry]:
    """A deterministic classroom day as journal entries with cursors."""
    return [
        JournalEntry(f"s=test;i={i}", line.time_ms * 1000, line.message)
        for i, line in enumerate(Classroom(seed=seed).day(n), start=1)
    ]


def batches(entries: list[JournalEntry], size: int) -> Iterator[list[JournalEntry]]:
    for i in range(0, len(entries), size):
        yield entries[i : i + size]


def make_settings(tmp_path: Path, name: str = "run", **overrides: object) -> Settings:
    base = tmp_path / name
    values: dict[str, object] = {
        "log_dir": base / "logs",
        "data_dir": base / "data",
        "database_url": f"sqlite:///{base / 'gaze.db'}",
        "journal_file": base / "none.journal",
    }
    values.update(overrides)
    return load_settings(**values)


def open_engine(settings: Settings) -> Engine:
    """The engine a (re)started service opens; a new SQLite file starts from the migrated copy."""
    seed_migrated(settings.own_database_url)
    engine = make_engine(settings.own_database_url)
    migrate(engine)
    return engine


def live_rows(engine: Engine) -> list[Row]:
    with Session(engine) as db:
        return [
            (r.start_ms, r.end_ms, r.user_id, r.ip, r.module, r.duration_s, r.reason, r.source)
            for r in db.scalars(select(RecordRow).order_by(RecordRow.id))
        ]


def expected_log(rows: list[Row]) -> str:
    return "".join(format_session_line(end, user, ip, module, dur) for _, end, user, ip, module, dur, _, _ in rows)


def all_sessions(log_dir: Path) -> str:
    """Archives (by name), then the plain file."""
    parts = []
    for archive in sorted(log_dir.glob(f"{SESSIONS_STEM}-*.log.zip")):
        with zipfile.ZipFile(archive) as zf:
            parts += [zf.read(name).decode() for name in zf.namelist()]
    plain = log_dir / SESSIONS_LOG
    if plain.exists():
        parts.append(plain.read_text())
    return "".join(parts)


def checkpoint(engine: Engine) -> tuple[str | None, dict[str, object]]:
    with Session(engine) as db:
        row = db.get(Checkpoint, CHECKPOINT)
        assert row is not None
        return row.cursor, json.loads(row.state)


async def new_monitor(settings: Settings, engine: Engine) -> Recorder:
    monitor = Recorder(settings, engine)
    monitor.restore()
    return monitor


async def run_through(settings: Settings, entries: list[JournalEntry], size: int = 400) -> Engine:
    """One uninterrupted live run over `entries`."""
    engine = open_engine(settings)
    monitor = await new_monitor(settings, engine)
    for batch in batches(entries, size):
        await monitor.record(batch)
    return engine


def block_dir(path: Path) -> Path:
    """Make `path` unusable as a directory (a regular file in its place); return where it went."""
    aside = path.with_name(path.name + ".aside")
    path.rename(aside)
    path.write_text("not a directory\n")
    return aside


def unblock_dir(path: Path, aside: Path) -> None:
    path.unlink()
    aside.rename(path)


# A small scene: A reads math 60 s then bio; B reads art with assets; C arrives later.
SCENE = [
    entry(A, T0, "cdn_math"),
    entry(B, T0 + 5_000, "cdn_art"),
    entry(A, T0 + 30_000, "cdn_math", asset=True),
    entry(A, T0 + 60_000, "cdn_bio"),  # closes A math, 60 s
    entry(B, T0 + 65_000, "cdn_art", asset=True),
    entry(B, T0 + 70_000, "cdn_math"),  # closes B art, 65 s
    entry(C, T0 + 100_000, "cdn_art"),
    entry(A, T0 + 130_000, "cdn_art"),  # closes A bio, 70 s
]
SCENE_ROWS: list[Row] = [
    (T0, T0 + 60_000, "Guest", A, "cdn_math", 60, "switch", LIVE),
    (T0 + 5_000, T0 + 70_000, "Guest", B, "cdn_art", 65, "switch", LIVE),
    (T0 + 60_000, T0 + 130_000, "Guest", A, "cdn_bio", 70, "switch", LIVE),
]


def module_messages(entries: list[JournalEntry]) -> list[str]:
    return [e.message for e in entries if "/modules/" in e.message]


def access_messages(log_dir: Path) -> list[str]:
    lines = (log_dir / ACCESS_LOG).read_text().splitlines()
    for line in lines:
        stamp, _, _ = line.partition("\t")
        assert stamp.endswith("Z") and len(stamp) == 24
    return [line.split("\t", 1)[1] for line in lines]
