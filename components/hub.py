"""What the live board pushes to every open page, on the runtime's clock (gaze/runtime.py).

Pages never poll: they bind to `BoardStatus` (a bindable dataclass updated once a second) and
subscribe to the hub's events — session changes at most 4 times a second in batches, a tick each
second for the counters, and limit/alert/catalog changes when they happen. The hub has no loop of
its own: `attach()` registers its pushes as runtime jobs.
"""

from __future__ import annotations

import logging
import time

from nicegui import Event, binding

from components.io import io_bound
from gaze import uplink
from gaze.alerts import Alert
from gaze.board import LiveOrder, TodayPoint, over_note, stats, today_so_far
from gaze.hardening import redact
from gaze.runtime import Runtime
from gaze.services import Services
from gaze.sessions import Key, OpenSession
from gaze.status import (
    catalog_text,
    database_text,
    frozen_text,
    health,
    last_line_text,
    reader_text,
    writer_text,
)

log = logging.getLogger(__name__)

PUSH_INTERVAL_S = 0.25
TODAY_EVERY_S = 15.0


@binding.bindable_dataclass
class BoardStatus:
    reader: str = "Monitoring stopped"
    reader_problem: bool = False
    last_line: str = "no activity yet"
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
    healthy: bool = False  # gaze.status.health's verdict, the same as /healthz's
    frozen: bool = True  # monitoring stopped: the board shows the moment it stopped, nothing ticks
    frozen_text: str = ""


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
        changes = self._services.recorder.drain_changes()
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

    def _follow_monitoring(self, running: bool, now: float) -> None:
        """Remember when monitoring stopped (the moment a stopped board shows), forget it when it runs."""
        if running:
            self.stopped_at = None
        elif self.stopped_at is None:
            self.stopped_at = now

    async def refresh_today(self) -> None:
        """Minutes per module today: ended sessions as /history counts them, plus the open ones so far."""
        services = self._services
        if not (services.ready and services.db_ok):
            return
        sessions = services.recorder.sessions()
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
        """The status strip and the cards from the recorder's latest published status."""
        now = time.time() if now is None else now
        services, board = self._services, self.status
        status = services.recorder.status
        reader, verdict = status.reader, health(status, services.db_ok)
        board.monitoring = status.running
        self._follow_monitoring(status.running, now)
        board.frozen = self.stopped_at is not None
        board.frozen_text = frozen_text(self.stopped_at, reader.last_line_at) if board.frozen else ""
        board.reader = redact(reader_text(reader, status.running, now))  # details quote exception texts
        board.reader_problem = verdict.reader_problem
        board.last_line = last_line_text(reader, now)
        board.catalog, board.catalog_problem = catalog_text(
            services.catalog, oc4d_database=bool(services.settings.oc4d_database_url), demo=services.demo
        )
        board.database = database_text(status, services.db_ok, services.db_error)
        board.database_problem = verdict.database_problem
        board.writer = redact(writer_text(status))
        board.writer_problem = verdict.writer_problem
        board.healthy = verdict.healthy
        board.takeover = status.takeover
        if services.uplink is not None:
            board.uplink, board.uplink_problem = uplink.status_text(services.uplink.status, now)
        self._count(board)

    def _count(self, board: BoardStatus) -> None:
        numbers = stats(self._services.recorder, self._services.limits, self.now_ms())
        board.live_users = numbers.live_users
        board.active_modules = numbers.active_modules
        board.active_limits = numbers.active_limits
        board.over_limit = numbers.over_limit
        board.over_note = over_note(numbers)
