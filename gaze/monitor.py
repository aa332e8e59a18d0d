"""The live monitor: journal reader → Ingestor → database checkpoint → log files.

One per process. Every batch of journal entries is committed together with the session records it
closed, the open sessions and the journal cursor, so a restart — clean or SIGKILL — resumes exactly
where the last commit left off; the log writers then put each record into the files exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from gaze.config import Settings
from gaze.db import LIVE, Checkpoint
from gaze.demo import DEMO_DETAIL, probe_journal, run_demo
from gaze.history import add_records
from gaze.journal import Batch, JournalReader, JournalSource, ReaderState, last_cursor
from gaze.logfiles import ACCESS_STEM, SESSIONS_STEM, DailyLog, local_day
from gaze.logwriter import ExactlyOnceLog, SessionLogWriter
from gaze.pipeline import Ingestor
from gaze.sessions import SessionRecord, SessionStore

log = logging.getLogger(__name__)

CHECKPOINT = "live"
TICK_S = 1.0
PROBE_RETRY_S = 30.0  # while the journal cannot be read


def load_checkpoint(engine: Engine, name: str = CHECKPOINT) -> tuple[str | None, dict[str, object]]:
    with Session(engine) as db:
        row = db.get(Checkpoint, name)
        if row is None:
            return None, {}
        return row.cursor, json.loads(row.state or "{}")


class Monitor:
    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        *,
        source: JournalSource | None = None,
        wall_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
        demo: bool = False,
    ) -> None:
        self.settings = settings
        self.demo = demo
        self.engine = engine
        self.source = source or JournalSource(
            unit=settings.journal_unit, directory=settings.journal_directory, file=settings.journal_file
        )
        self.store = SessionStore(settings.idle_timeout_seconds, settings.max_open_sessions, track_changes=True)
        self.ingestor = Ingestor(
            self.store, include_loopback=settings.include_loopback, tee_access=settings.tee_access_log
        )
        retention = settings.retention_days
        self.sessions_log = SessionLogWriter(
            engine, DailyLog(settings.log_dir, SESSIONS_STEM, retention_days=retention)
        )
        self.access_log = ExactlyOnceLog(engine, DailyLog(settings.log_dir, ACCESS_STEM, retention_days=retention))
        self.reader_state = ReaderState()
        self.wall_ms = wall_ms
        self.cursor: str | None = None
        self._reader: JournalReader | None = None
        self._task: asyncio.Task[None] | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._demo_stop = asyncio.Event()  # set by stop(): ends the demo source or the wait for a readable journal
        self._clock_seen: tuple[int | None, float] = (None, time.monotonic())
        self._saved_version = self.store.version  # store.version the checkpoint holds

    # ------------------------------------------------------------------ lifecycle

    def restore(self) -> None:
        """Load the checkpoint and finish any log write a crash interrupted (blocking; call once)."""
        self.cursor, state = load_checkpoint(self.engine)
        if state:
            self.store.load_state(state)
            last_line_at = state.get("last_line_at")
            if isinstance(last_line_at, int | float):
                self.reader_state.last_line_at = float(last_line_at)
        self._saved_version = self.store.version
        self._clock_seen = (self.store.clock_ms, time.monotonic())
        self.access_log.recover()
        self.sessions_log.recover()
        self.sessions_log.flush()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start following the journal — or the simulated classroom in demo mode (idempotent)."""
        if self.running:
            return
        self._demo_stop.clear()
        if self.demo:
            self._task = asyncio.create_task(self._run_demo(), name="demo-source")
        else:
            since = self.settings.journal_since_arg
            self._reader = JournalReader(
                self.source, self._on_batch, cursor=self.cursor, since=since, state=self.reader_state
            )
            self._task = asyncio.create_task(self._follow(self._reader), name="journal-reader")
        if self._ticker is None or self._ticker.done():
            self._ticker = asyncio.create_task(self._tick_forever(), name="monitor-tick")

    async def _follow(self, reader: JournalReader) -> None:
        """Follow the journal; while journalctl cannot read it, say so (never demo) and look again."""
        while not self._demo_stop.is_set():
            probe = await asyncio.to_thread(probe_journal, self.source)
            if probe.state != "unreadable":
                break
            if self.reader_state.status != "unreadable":
                log.error("%s", probe.detail)
            self.reader_state.set("unreadable", probe.detail, time.time() + PROBE_RETRY_S)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._demo_stop.wait(), PROBE_RETRY_S)
        if self._demo_stop.is_set():
            self.reader_state.set("stopped")
            return
        await reader.run()

    async def _run_demo(self) -> None:
        self.reader_state.set("following", DEMO_DETAIL)
        try:
            await run_demo(self._demo_feed, self._demo_stop)
        finally:
            self.reader_state.set("stopped")

    def _demo_feed(self, entries: Batch) -> None:
        self.reader_state.lines += len(entries)
        self.reader_state.last_line_at = time.time()
        self.feed_entries(entries)

    async def stop(self) -> None:
        """Stop following; the checkpoint stays where the last batch left it."""
        if self._reader is not None:
            self._reader.stop()
        self._demo_stop.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None

    # ------------------------------------------------------------------ feeding

    async def _on_batch(self, entries: Batch) -> None:
        self.feed_entries(entries)
        await self.persist(last_cursor(entries))

    def feed_entries(self, entries: Batch) -> None:
        """Process entries now; without a cursor (demo) they are persisted by the next tick."""
        for entry in entries:
            self.ingestor.add(entry)

    def heartbeat(self, ip: str, user: str, module: str, event: str, now_ms: int) -> None:
        """A ping (same rules as an asset hit) or a close (ends that exact session now) from a module page.

        What it changes is saved by the next tick, like any other change of the open sessions.
        """
        if event == "close":
            self.store.close(ip, user, module, now_ms)
        else:
            self.store.ping(ip, user, module, now_ms)

    async def persist(self, cursor: str | None = None) -> None:
        """Commit what the ingestor gathered with the cursor and open sessions, then write the files."""
        async with self._lock:
            if cursor:
                self.cursor = cursor
            records, access = self.ingestor.take()
            state = {**self.store.to_state(), "last_line_at": self.reader_state.last_line_at}
            self._saved_version = self.store.version
            if self.store.clock_ms != self._clock_seen[0]:
                self._clock_seen = (self.store.clock_ms, time.monotonic())
            await asyncio.to_thread(self._persist_sync, self.cursor, state, records, access)

    def _persist_sync(
        self, cursor: str | None, state: dict[str, object], records: list[SessionRecord], access: list[str]
    ) -> None:
        today = local_day(None)
        with Session(self.engine) as db, db.begin():
            add_records(db, records, LIVE)
            row = db.get(Checkpoint, CHECKPOINT)
            if row is None:
                row = Checkpoint(name=CHECKPOINT)
                db.add(row)
            row.cursor = cursor
            row.state = json.dumps(state, separators=(",", ":"))
            row.updated_ms = self.wall_ms()
            staged = bool(access) and self.access_log.stage(db, "".join(access).encode(), today)
        if staged:
            self.access_log.complete(today)
        if records or self.sessions_log.status.waiting or not self.sessions_log.status.ok:
            self.sessions_log.flush()

    # ------------------------------------------------------------------ wall clock

    def effective_now_ms(self) -> int | None:
        """Event time advanced by the wall time since the last hit (= wall clock for live traffic).

        Expiring on this instead of the raw wall clock keeps the records identical to a backfill of
        the same journal, even when old entries are replayed.
        """
        clock, seen_at = self._clock_seen
        if clock is None:
            return None
        return clock + int((time.monotonic() - seen_at) * 1000)

    async def tick(self) -> None:
        """Once a second: expire idle sessions, retry unwritten files."""
        if self._lock.locked():
            return
        now = self.effective_now_ms()
        if now is not None and self.reader_state.status == "following":
            self.store.expire(now)
        if self.ingestor.pending_records or self.ingestor.pending_access or self.store.version != self._saved_version:
            await self.persist()
        elif not (self.sessions_log.status.ok and self.access_log.status.ok):
            async with self._lock:
                await asyncio.to_thread(self._retry_files)

    def _retry_files(self) -> None:
        self.access_log.complete(local_day(None))
        self.sessions_log.flush()

    async def rotate_due(self) -> None:
        """The midnight job: archive yesterday's plain files and prune old archives."""
        async with self._lock:
            for writer in (self.sessions_log, self.access_log):
                try:
                    await asyncio.to_thread(writer.file.rotate_due)
                    await asyncio.to_thread(writer.file.prune)
                except Exception as exc:  # reported in the status; the next write retries
                    log.error("rotation of %s failed: %s", writer.stem, exc)

    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            try:
                await self.tick()
            except Exception:
                log.exception("monitor tick failed")
