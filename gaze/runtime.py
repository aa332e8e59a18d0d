"""The one clock of a running Module Gaze — DESIGN §1 `gaze/runtime.py`.

Every timed job runs here, on one APScheduler, the same in `main.py` (with the UI) and in
`main.py follow` (without): the recorder's tick (session expiry, saving, file retries), limit checks
and alerts, the database check, the catalog reload, the midnight rotation and the uplink's shipments. The UI adds no clock
of its own: it registers what it pushes to pages with `every()`, and hears of new alerts through
`on_alerts()`.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from gaze.alerts import Alert
from gaze.services import Services
from gaze.uplink import FIRST_RUN_DELAY_S

log = logging.getLogger(__name__)
# APScheduler logs every run at INFO and every skipped overlap at WARNING (the tick job while a save
# is retried): only a job's own failure (ERROR) belongs in the service log.
logging.getLogger("apscheduler").setLevel(logging.ERROR)

TICK_S = 1.0  # session expiry on the clock, saving what changed, retrying unwritten files
LIMITS_S = 1.0  # over-limit checks
DB_CHECK_S = 10.0  # SELECT 1 on our database, for the status
CATALOG_S = 60.0  # re-read the module catalog
USERS_S = 5.0  # re-read users and roles (the shell's `main.py users …` writes the table too)
MIDNIGHT_SECOND = 1  # the rotation runs one second after local midnight
UPLINK_STATUS_S = 30.0  # re-read the uplink's queue length

AlertListener = Callable[[list[Alert], int], None]  # (new alerts, how many ended)
UsersListener = Callable[[dict[str, str | None]], None]  # {username: new role, None when removed}


def next_local_midnight(now: float) -> float:
    """The epoch time of the next local midnight (+1 s) after `now`, in the process's time zone
    (mktime follows TZ and daylight saving)."""
    lt = time.localtime(now)
    return time.mktime((lt.tm_year, lt.tm_mon, lt.tm_mday + 1, 0, 0, MIDNIGHT_SECOND, 0, 0, -1))


def on_the_loop(job: Callable[[], object]) -> Callable[[], Awaitable[None]]:
    """`job` as a coroutine function, which APScheduler's asyncio scheduler runs on the event loop."""

    async def run() -> None:
        job()

    return run


class Runtime:
    def __init__(self, services: Services) -> None:
        self.services = services
        # UTC: the jobs are intervals and one exact instant (local midnight comes from mktime, which
        # follows any TZ; tzlocal refuses POSIX TZ strings such as "WAT-1")
        self.scheduler = AsyncIOScheduler(
            timezone=UTC, job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 30}
        )
        self._alert_listeners: list[AlertListener] = []
        self._users_listeners: list[UsersListener] = []
        self.rotations = 0  # midnight rotations run (for /healthz and tests)

    # ------------------------------------------------------------------ wiring

    def every(self, seconds: float, job: Callable[[], object], name: str) -> None:
        """Run `job` every `seconds` on the one clock (the UI's pushes use this), on the event loop: a
        coroutine function is awaited, a plain function is called there too (APScheduler would run
        it in a worker thread, where two pushes could change the same page at once). What the job
        returns is not used."""
        run = job if inspect.iscoroutinefunction(job) else on_the_loop(job)
        self.scheduler.add_job(run, "interval", seconds=seconds, id=name, name=name)

    def on_alerts(self, listener: AlertListener) -> None:
        """`listener(new, ended)` hears of new over-limit alerts and of alerts that ended (stored already)."""
        self._alert_listeners.append(listener)

    def on_users_changed(self, listener: UsersListener) -> None:
        """`listener({username: role or None})` hears of users another process (the shell's `main.py
        users …`) removed or whose role it changed, on the event loop."""
        self._users_listeners.append(listener)

    def start(self) -> None:
        """Schedule every job and start the clock (inside the running event loop)."""
        self.every(TICK_S, self._tick, "tick")
        self.every(LIMITS_S, self.check_limits, "limits")
        self.every(DB_CHECK_S, self._check_database, "database")
        self.every(CATALOG_S, self._reload_catalog, "catalog")
        self.every(USERS_S, self._reload_users, "users")
        self._schedule_midnight()
        uplink = self.services.uplink
        if uplink is not None:  # DESIGN §8: ship every interval, the first time soon after start
            first = datetime.now(UTC) + timedelta(seconds=FIRST_RUN_DELAY_S)
            self.scheduler.add_job(
                self._ship, "interval", seconds=uplink.config.interval_s, next_run_time=first, id="uplink"
            )
            self.every(UPLINK_STATUS_S, self._uplink_status, "uplink-status")
        self.scheduler.start()

    async def open(self, *, follow: bool, on_ready: Callable[[], Awaitable[None]] | None = None) -> None:
        """Connect to our database (retrying until it answers), then follow the journal if asked;
        then `on_ready()` (the board's first figures)."""
        await self.services.connect()
        if follow:
            self.services.sources.start()
        if on_ready is not None:
            await on_ready()

    async def close(self) -> None:
        """Stop the clock and the reader; save where the reader stands."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        await self.services.sources.stop()
        await self.services.recorder.persist()

    # ------------------------------------------------------------------ jobs

    async def _tick(self) -> None:
        if self.services.ready:
            self.services.sources.check_file()
            await self.services.recorder.tick()

    async def check_limits(self) -> list[Alert]:
        """Store an alert for every open session that crossed its module's limit, end the alerts whose
        session ended or whose limit went away or up; tell listeners. No new alert is raised while
        monitoring is stopped (the board is frozen at that moment)."""
        services = self.services
        limits = services.limits
        if not services.ready or not (limits.limits or limits.open):
            return []
        running = services.sources.running
        sessions = services.recorder.sessions()
        now_ms = time.time_ns() // 1_000_000

        def check() -> tuple[list[Alert], int]:
            new = limits.check(sessions, now_ms) if running else []
            return new, len(limits.resolve_ended(sessions, now_ms))

        new, ended = await asyncio.to_thread(check)
        if new or ended:
            for listener in self._alert_listeners:
                listener(new, ended)
        return new

    async def _check_database(self) -> None:
        if self.services.ready:
            await asyncio.to_thread(self.services.check_database)

    async def _reload_catalog(self) -> None:
        await asyncio.to_thread(self.services.catalog.reload)

    async def _reload_users(self) -> None:
        if self.services.ready:
            changed = await asyncio.to_thread(self.services.reload_users)
            if changed:
                for listener in self._users_listeners:
                    listener(changed)

    async def _ship(self) -> None:
        uplink = self.services.uplink
        if uplink is not None and self.services.ready:
            await asyncio.to_thread(uplink.tick)

    async def _uplink_status(self) -> None:
        """The queue length on the board between shipments."""
        uplink = self.services.uplink
        if uplink is not None and self.services.ready:
            await asyncio.to_thread(uplink.refresh)

    def _schedule_midnight(self) -> None:
        when = datetime.fromtimestamp(next_local_midnight(time.time()), UTC)
        self.scheduler.add_job(self._midnight, "date", run_date=when, id="midnight", replace_existing=True)

    async def _midnight(self) -> None:
        """Archive yesterday's plain files and prune old archives, then plan the next midnight."""
        try:
            if self.services.ready:
                await self.services.recorder.rotate_due()
                self.rotations += 1
                log.info("midnight rotation done")
        finally:
            self._schedule_midnight()
