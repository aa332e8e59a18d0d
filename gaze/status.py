"""What the recorder says about itself — one frozen `Status` — THE health rule, and the status texts.

The `Recorder` (gaze/recorder.py) publishes a new `Status` on each tick and each change; the board's
status strip and /healthz read only the latest one, judge it with `health()` and put it in words
with the functions here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from gaze.board import format_age
from gaze.catalog import Catalog
from gaze.journal import ReaderState
from gaze.logs.writer import WriterStatus
from gaze.setaside import SetAside
from gaze.simulator import DEMO_DETAIL

PROBLEM_STATES = ("stalled", "restarting", "missing", "unreadable")  # reader states the strip flags


class Feed(Protocol):
    """What feeds the recorder (gaze.sources.Sources), as far as its status says."""

    @property
    def running(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class Reader:
    """The reader's state at one moment (a copy of gaze.journal.ReaderState)."""

    status: str = "stopped"
    detail: str = ""
    retry_at: float | None = None
    last_line_at: float | None = None
    lines: int = 0
    errors: int = 0
    restarts: int = 0
    note: str = ""
    cursor_gone: dict[str, object] | None = None

    @classmethod
    def of(cls, state: ReaderState) -> Reader:
        gone = None if state.cursor_gone is None else dict(state.cursor_gone)
        return cls(
            state.status,
            state.detail,
            state.retry_at,
            state.last_line_at,
            state.lines,
            state.errors,
            state.restarts,
            state.note,
            gone,
        )


@dataclass(frozen=True, slots=True)
class Writer:
    """One log writer's status at one moment (a copy of gaze.logs.writer.WriterStatus)."""

    ok: bool = True
    detail: str = ""
    waiting: int = 0

    @classmethod
    def of(cls, status: WriterStatus) -> Writer:
        return cls(status.ok, status.detail, status.waiting)


@dataclass(frozen=True, slots=True)
class Aside:
    """What was set aside so far (gaze/setaside.py)."""

    count: int = 0
    last_error: str = ""
    dropped: int = 0  # oldest items deleted to keep the table bounded

    @classmethod
    def of(cls, aside: SetAside) -> Aside:
        return cls(aside.count, aside.last_error, aside.dropped)


@dataclass(frozen=True, slots=True)
class Status:
    """The recorder at one moment: all the status strip and /healthz show of it."""

    running: bool = False  # a source (journal or demo) is being followed
    reader: Reader = Reader()
    write_error: str | None = None  # why the last save failed, in words; None when saving works
    sessions_log: Writer = Writer()
    access_log: Writer = Writer()
    set_aside: Aside = Aside()
    takeover: str = ""  # what this start took over from another writer of the log folder, if anything
    open_sessions: int = 0
    dropped_at_capacity: int = 0
    counters: dict[str, object] | None = None  # the ingestor's counters (gaze.ingest.Counters.as_dict)

    @property
    def writers(self) -> tuple[tuple[str, Writer], ...]:
        return (("sessions", self.sessions_log), ("access", self.access_log))


@dataclass(frozen=True, slots=True)
class Health:
    """The verdict on a `Status`: each part's problem (flagged on the status strip) and the whole."""

    reader_problem: bool
    database_problem: bool
    writer_problem: bool
    healthy: bool  # /healthz answers 200, else 503


def health(status: Status, db_ok: bool) -> Health:
    """THE health rule, for the status strip and /healthz alike. Healthy: the reader follows the
    journal, our database answers and takes the saves, and both log writers write. The strip flags
    a reader that is in trouble (not one stopped or starting) and also counts what was set aside."""
    database_problem = not db_ok or status.write_error is not None
    writers_ok = all(writer.ok for _, writer in status.writers)
    return Health(
        reader_problem=status.reader.status in PROBLEM_STATES,
        database_problem=database_problem,
        writer_problem=not writers_ok or bool(status.set_aside.count),
        healthy=status.reader.status == "following" and not database_problem and writers_ok,
    )


# ---------------------------------------------------------------- texts


def reader_text(state: Reader | ReaderState, running: bool, now: float | None = None) -> str:
    """The monitoring part of the status strip, in the admin's words (no program names)."""
    now = time.time() if now is None else now
    if state.status == "following":
        if state.detail == DEMO_DETAIL:
            return "Showing a simulated classroom (demo)"
        return "Monitoring oc4d" + (f"; {state.note}" if state.note else "")
    if state.status == "stalled":
        wait = max(0, round((state.retry_at or now) - now))
        return f"Monitoring paused: {state.detail}; retrying in {wait}s (nothing is lost)"
    if state.status == "restarting":
        wait = max(0, round((state.retry_at or now) - now))
        return f"Monitoring interrupted ({state.detail}); restarting in {wait}s"
    if state.status == "unreadable":
        return state.detail
    if state.status == "missing":
        wait = max(0, round((state.retry_at or now) - now))
        return f"Cannot read oc4d's activity: the system's log tool is missing; retrying in {wait}s"
    if state.status == "starting":
        return "Starting monitoring…"
    return "Monitoring is running" if running else "Monitoring stopped"


def last_line_text(state: Reader | ReaderState, now: float | None = None) -> str:
    now = time.time() if now is None else now
    if state.last_line_at is None:
        return "no activity yet"
    return f"last activity {format_age(now - state.last_line_at)}"


def database_text(status: Status, db_ok: bool, db_error: str | None) -> str:
    """The database part of the status strip: a refused save first, else whether it answers."""
    if status.write_error is not None:
        return status.write_error
    return "database ok" if db_ok else f"database unreachable: {db_error}"


def writer_text(status: Status) -> str:
    """The log writers' problems and what was set aside, "" when there is none."""
    problems = [writer.detail for _, writer in status.writers if not writer.ok]
    aside = status.set_aside
    if aside.count:
        problems.append(f"{aside.count} could not be stored and were set aside: {aside.last_error}")
    return "; ".join(problems)


def catalog_text(catalog: Catalog, *, oc4d_database: bool, demo: bool) -> tuple[str, bool]:
    """The catalog part of the status strip, and whether it is a problem. `oc4d_database`: one is
    configured; `demo`: no uploads folder is expected."""
    count = len(catalog.modules)
    parts = [f"{count} module name{'s' if count != 1 else ''} known"]
    problem = False
    db = catalog.db_status
    if oc4d_database:
        parts.append("from the content server's database" if db.ok else f"content server's database: {db.error}")
        problem = not db.ok
    scan = catalog.scan_status
    if not scan.ok and not demo and not (db.ok and db.count):
        parts.append(f"module folder: {scan.error}")
        problem = True
    return " · ".join(parts), problem


def _clock(moment: float) -> str:
    return datetime.fromtimestamp(moment).strftime("%H:%M:%S")


def frozen_text(stopped_at: float | None, last_line_at: float | None) -> str:
    """What a stopped board says about itself, in plain words."""
    since = f" since {_clock(stopped_at)}" if stopped_at is not None else ""
    last = f" Last activity seen at {_clock(last_line_at)}." if last_line_at is not None else ""
    return (
        f"Monitoring is stopped{since}. This board is frozen at that moment: times do not tick and no "
        f"new sessions appear.{last}"
    )
