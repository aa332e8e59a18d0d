"""What the live board pushes to every open page, on the runtime's clock (gaze/runtime.py).

Pages never poll: they bind to `BoardStatus` (a bindable dataclass updated once a second) and
subscribe to the hub's events — session changes at most 4 times a second in batches, a tick each
second for the counters, and limit/alert/catalog changes when they happen. The hub has no loop of
its own: `attach()` registers its pushes as runtime jobs.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime

from nicegui import Event, binding
from sqlalchemy import Engine

from components.io import io_bound
from gaze import history, uplink
from gaze.alerts import Alert
from gaze.board import LiveOrder, last_line_text, over_note, reader_text, stats
from gaze.catalog import Catalog
from gaze.hardening import redact
from gaze.runtime import Runtime
from gaze.services import Services
from gaze.sessions import Key, OpenSession

log = logging.getLogger(__name__)

PUSH_INTERVAL_S = 0.25
TODAY_EVERY_S = 15.0
TODAY_TOP = 8


@binding.bindable_dataclass
class BoardStatus:
    reader: str = "Monitoring stopped"
    reader_problem: bool = False
    last_line: str = "no oc4d line yet"
    catalog: str = ""
    catalog_problem: bool = False
    database: str = "database: checking…"
    database_problem: bool = False
    writer: str = ""
    writer_problem: bool = False
    uplink: str = ""  # empty when the uplink is off
    uplink_problem: bool = False
    takeover: str = ""  # what this start took over from an earlier writer of the log folder, if anything
    monitoring: bool = False
    live_users: int = 0
    active_modules: int = 0
    active_limits: int = 0
    over_limit: int = 0
    over_note: str = ""  # e.g. "3 acknowledged": over the limit, but an admin has seen to them
    frozen: bool = True  # monitoring stopped: the board shows the moment it stopped, nothing ticks
    frozen_text: str = ""


def catalog_text(catalog: Catalog, *, oc4d_database: bool, demo: bool) -> tuple[str, bool]:
    """The catalog part of the status strip, and whether it is a problem. `oc4d_database`: one is
    configured; `demo`: no uploads folder is expected."""
    count = len(catalog.modules)
    parts = [f"catalog: {count} module{'s' if count != 1 else ''}"]
    problem = False
    db = catalog.db_status
    if oc4d_database:
        parts.append("oc4d database ok" if db.ok else f"oc4d database: {db.error}")
        problem = not db.ok
    scan = catalog.scan_status
    if not scan.ok and not demo and not (db.ok and db.count):
        parts.append(f"uploads scan: {scan.error}")
        problem = True
    return " · ".join(parts), problem


TodayPoint = tuple[str, float, float]  # module slug, minutes of ended sessions, minutes of open ones so far


def today_so_far(engine: Engine, sessions: list[OpenSession], now_ms: int) -> list[TodayPoint]:
    """Minutes per module today, in two parts: ended sessions exactly as /history's "Today" counts
    them (the roll-ups, by end time), and the open sessions' time since midnight so far."""
    rng = history.today()
    ended: dict[str, float] = dict(history.minutes_by_module(engine, rng, top=1000))
    running: dict[str, float] = {}
    for session in sessions:
        start = max(session.start_ms, rng.start_ms)
        if now_ms > start:
            running[session.module] = running.get(session.module, 0.0) + (now_ms - start) / 60_000
    points = [(m, ended.get(m, 0.0), running.get(m, 0.0)) for m in set(ended) | set(running)]
    return sorted(points, key=lambda p: (-(p[1] + p[2]), p[0]))[:TODAY_TOP]


def _clock(moment: float) -> str:
    return datetime.fromtimestamp(moment).strftime("%H:%M:%S")


def frozen_text(stopped_at: float | None, last_line_at: float | None) -> str:
    """What a stopped board says about itself, in plain words."""
    since = f" since {_clock(stopped_at)}" if stopped_at is not None else ""
    last = f" Last oc4d line seen at {_clock(last_line_at)}." if last_line_at is not None else ""
    return (
        f"Monitoring is stopped{since}. This board is frozen at that moment: times do not tick and no "
        f"new sessions appear.{last}"
    )


class Hub:
    def __init__(self, services: Services) -> None:
        self._services = services
        self.status = BoardStatus()
        self.order = LiveOrder()  # every dashboard's session table reads this one
        self.sessions_changed: Event[dict[Key, OpenSession | None]] = Event()
        self.second: Event[int] = Event()
        self.limits_changed: Event[[]] = Event()
        self.alerts_changed: Event[[]] = Event()
        self.alert_raised: Event[list[Alert]] = Event()
        self.catalog_changed: Event[[]] = Event()
        self.labels_changed: Event[[]] = Event()
        self.today_changed: Event[list[TodayPoint]] = Event()
        self.today: list[TodayPoint] | None = None  # minutes per module today, most first; None: not read yet
        self._catalog_version = -1
        self.stopped_at: float | None = time.time()  # None while monitoring runs

    def now_ms(self) -> int:
        """The board's clock: wall time while monitoring runs, else the moment it stopped."""
        moment = self.stopped_at if self.stopped_at is not None else time.time()
        return int(moment * 1000)

    def attach(self, runtime: Runtime) -> None:
        """Put the hub's pushes on the runtime's one clock and hear of the alerts it raises."""
        runtime.every(PUSH_INTERVAL_S, self.push_sessions, "push-sessions")
        runtime.every(1.0, self.push_second, "push-second")
        runtime.every(TODAY_EVERY_S, self.refresh_today, "push-today")
        runtime.on_alerts(self._alerts_changed)

    def push_sessions(self) -> None:
        """Session changes since the last push, to every page (at most 4 times a second)."""
        changes = self._services.monitor.store.drain_changes()
        if changes:
            self.order.apply(changes)
            self.sessions_changed.emit(changes)

    def push_second(self) -> None:
        """Counters and status, once a second."""
        now = time.time()
        services = self._services
        if services.catalog.version != self._catalog_version:
            self._catalog_version = services.catalog.version
            self.catalog_changed.emit()
        self.refresh_status(now)
        if self.stopped_at is None:
            self.second.emit(self.now_ms())

    def _follow_monitoring(self, now: float) -> None:
        """Remember when monitoring stopped (the moment a stopped board shows), forget it when it runs."""
        if self._services.monitor.running:
            self.stopped_at = None
        elif self.stopped_at is None:
            self.stopped_at = now

    async def refresh_today(self) -> None:
        """Minutes per module today: ended sessions as /history counts them, plus the open ones so far."""
        services = self._services
        if not (services.ready and services.db_ok):
            return
        sessions = services.monitor.store.sessions()
        self.today = await io_bound(today_so_far, services.engine, sessions, self.now_ms())
        self.today_changed.emit(self.today)

    def _alerts_changed(self, new: list[Alert], ended: int) -> None:
        if new:
            self.alert_raised.emit(new)
        if new or ended:
            self.alerts_changed.emit()

    async def ready(self) -> None:
        """Our database answers (at start-up, or once it came back): the status and today's minutes
        now, not at their next interval."""
        self.refresh_status()
        await self.refresh_today()

    def refresh_status(self, now: float | None = None) -> None:
        now = time.time() if now is None else now
        services, status = self._services, self.status
        monitor = services.monitor
        state = monitor.reader_state
        status.monitoring = monitor.running
        self._follow_monitoring(now)
        status.frozen = self.stopped_at is not None
        status.frozen_text = frozen_text(self.stopped_at, state.last_line_at) if status.frozen else ""
        status.reader = redact(reader_text(state, monitor.running, now))  # details quote exception texts
        status.reader_problem = state.status in ("stalled", "restarting", "missing", "unreadable")
        status.last_line = last_line_text(state, now)
        status.catalog, status.catalog_problem = catalog_text(
            services.catalog, oc4d_database=bool(services.settings.oc4d_database_url), demo=services.demo
        )
        if monitor.write_error is not None:
            status.database = monitor.write_error
        else:
            status.database = "database ok" if services.db_ok else f"database unreachable: {services.db_error}"
        status.database_problem = not services.db_ok or monitor.write_error is not None
        problems = [w.status.detail for w in (monitor.sessions_log, monitor.access_log) if not w.status.ok]
        if monitor.set_aside.count:
            problems.append(f"{monitor.set_aside.count} set aside (table set_aside): {monitor.set_aside.last_error}")
        status.writer = redact("; ".join(problems))
        status.writer_problem = bool(problems)
        status.takeover = monitor.takeover.status_text() if monitor.takeover is not None else ""
        if services.uplink is not None:
            status.uplink, status.uplink_problem = uplink.status_text(services.uplink.status, now)
        numbers = stats(monitor.store, services.limits, self.now_ms())
        status.live_users = numbers.live_users
        status.active_modules = numbers.active_modules
        status.active_limits = numbers.active_limits
        status.over_limit = numbers.over_limit
        status.over_note = over_note(numbers)
