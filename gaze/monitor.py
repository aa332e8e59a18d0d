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
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from gaze import setaside
from gaze.config import Settings
from gaze.db import LIVE, Checkpoint
from gaze.demo import DEMO_DETAIL, probe_journal, run_demo
from gaze.journal import Batch, JournalReader, JournalSource, ReaderState, last_cursor
from gaze.localtime import local_day
from gaze.logfiles import DailyLog
from gaze.logformat import ACCESS_STEM, SESSIONS_STEM
from gaze.logwriter import ExactlyOnceLog, SessionLogWriter
from gaze.pipeline import Ingestor
from gaze.sessions import SessionRecord, SessionStore
from gaze.setaside import SetAside, error_line
from gaze.takeover import Takeover, take_over

log = logging.getLogger(__name__)

CHECKPOINT = "live"
RETRY_FIRST_S = 0.5  # a batch the database refused is retried after this, doubling …
RETRY_MAX_S = 30.0  # … up to this
RETRY_TICK_S = 5.0  # the tick's own save retries no more often than this while the database refuses
PROBE_RETRY_S = 30.0  # while the journal cannot be read


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What one save commits together: the cursor, the open sessions (state), the records and
    access lines gathered so far, and what was set aside."""

    cursor: str | None
    state: dict[str, object]
    records: list[SessionRecord]
    access: list[str]
    aside: list[tuple[str, str, str]]


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
        self.source = source or JournalSource.from_settings(settings)
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
        self._lock = asyncio.Lock()
        self._stopping = (
            asyncio.Event()
        )  # set by stop(): ends the demo source, a retry or the wait for a readable journal
        # set by a save that got through (it stored a held batch too) and by stop(): the reader's
        # wait to retry a batch the database refused ends at once
        self._retry_now = asyncio.Event()
        self.set_aside = SetAside()
        self.outbox = settings.uplink_url is not None and not demo  # queue closed records for the uplink
        self.restored = False  # restore() has loaded the checkpoint
        # journalctl's --since while there is no cursor (None: the whole journal); kept in the checkpoint
        self.since = settings.journal_since_arg
        self.takeover: Takeover | None = None  # what this start took over from another writer
        self.write_error: str | None = None  # why the last save failed, in words; None when saving works
        self._retry_at = 0.0
        self._access_staged = False
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
            since = state.get("since", self.since)
            self.since = since if isinstance(since, str) else None
        self._saved_version = self.store.version
        self._clock_seen = (self.store.clock_ms, time.monotonic())
        self.restored = True
        if not state and self.cursor is None and not self.demo:
            self._take_over()
        self.access_log.recover()
        self.sessions_log.recover()
        self.sessions_log.flush()

    def _take_over(self) -> None:
        """First start with no checkpoint: take over the log folder (gaze.takeover); saved at once."""
        takeover = take_over(self.engine, self.settings.log_dir, self.since, self.wall_ms())
        if takeover is None:
            return
        self.takeover, self.since = takeover, takeover.since
        self.store.clock_ms = takeover.latest_end_ms  # nothing we record can end at or before it
        self._clock_seen = (self.store.clock_ms, time.monotonic())
        self._commit(Snapshot(None, self._state(), [], [], []))  # a restart before the first line keeps it

    def _state(self) -> dict[str, object]:  # the open sessions, the last line's time, where reading starts
        return {**self.store.to_state(), "last_line_at": self.reader_state.last_line_at, "since": self.since}

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start following the journal — or the simulated classroom in demo mode (idempotent)."""
        if self.running:
            return
        if not self.restored:  # the checkpoint is not loaded (database unreachable so far)
            log.warning("monitoring starts when the database answers")
            return
        self._stopping.clear()
        if self.demo:
            self._task = asyncio.create_task(self._run_demo(), name="demo-source")
        else:
            self._reader = JournalReader(
                self.source, self._on_batch, cursor=self.cursor, since=self.since, state=self.reader_state
            )
            self._task = asyncio.create_task(self._follow(self._reader), name="journal-reader")

    async def _follow(self, reader: JournalReader) -> None:
        """Follow the journal; while journalctl cannot read it, say so (never demo) and look again."""
        while not self._stopping.is_set():
            probe = await asyncio.to_thread(probe_journal, self.source)
            if probe.state != "unreadable":
                break
            if self.reader_state.status != "unreadable":
                log.error("%s", probe.detail)
            self.reader_state.set("unreadable", probe.detail, time.time() + PROBE_RETRY_S)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), PROBE_RETRY_S)
        if self._stopping.is_set():
            self.reader_state.set("stopped")
            return
        await reader.run()

    async def _run_demo(self) -> None:
        self.reader_state.set("following", DEMO_DETAIL)
        try:
            await run_demo(self._demo_feed, self._stopping, resume_ms=self.store.clock_ms)
        finally:
            self.reader_state.set("stopped")

    def _demo_feed(self, entries: Batch) -> None:
        self.reader_state.lines += len(entries)
        self.reader_state.last_line_at = time.time()
        self.feed_entries(entries)

    async def stop(self) -> None:
        """Stop following; the checkpoint stays where the last batch left it."""
        self._stopping.set()
        self._retry_now.set()
        if self._reader is not None:
            self._reader.stop()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None

    # ------------------------------------------------------------------ feeding

    async def _on_batch(self, entries: Batch) -> None:
        """Process a batch, then hold the reader until the checkpoint that includes it is saved.

        The batch is fed once: while the database refuses the write, the records, open sessions and
        cursor wait together in memory and the same write is retried with backoff (or at once when
        the tick's save gets through, which stored them: the status is right again). Nothing is
        taken from memory before it is stored, so a kill at any point resumes from the last saved
        checkpoint and reads the batch again.
        """
        self.feed_entries(entries)
        skipped_to = self._reader.skipped_to if self._reader is not None else None
        self.cursor = last_cursor(entries) or skipped_to or self.cursor
        delay = RETRY_FIRST_S
        while not await self.persist():
            if self._stopping.is_set():
                return  # still in memory: the next start resumes after it, a restart re-reads it
            self.reader_state.set("stalled", self.write_error or "", time.time() + delay)
            self._retry_now.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._retry_now.wait(), delay)
            delay = min(delay * 2, RETRY_MAX_S)
        if self.reader_state.status == "stalled":
            self.reader_state.set("following")

    def feed_entries(self, entries: Batch) -> None:
        """Process entries now; without a cursor (demo) they are persisted by the next tick.

        An entry the pipeline raises on is set aside (counted, stored for inspection), never
        allowed to stop the entries behind it.
        """
        add = self.ingestor.add
        for entry in entries:
            try:
                add(entry)
            except Exception as exc:
                log.error("set aside a journal entry the pipeline could not process: %s", error_line(exc))
                self.set_aside.add_entry(entry, exc)

    def heartbeat(self, ip: str, user: str, module: str, event: str, now_ms: int) -> None:
        """A ping (same rules as an asset hit) or a close (ends that exact session now) from a module page.

        What it changes is saved by the next tick, like any other change of the open sessions.
        """
        if event == "close":
            self.store.close(ip, user, module, now_ms)
        else:
            self.store.ping(ip, user, module, now_ms)

    async def persist(self) -> bool:
        """Commit the records and access lines gathered so far with the cursor and open sessions
        (one transaction), then write the files. False when the database refused: everything stays
        pending in memory for the next attempt."""
        if not self.restored:  # never overwrite a checkpoint this process has not loaded
            return False
        async with self._lock:
            ingestor = self.ingestor
            snap = Snapshot(
                self.cursor,
                self._state(),
                list(ingestor.pending_records),
                list(ingestor.pending_access),
                list(self.set_aside.pending),
            )
            version, clock = self.store.version, self.store.clock_ms
            try:
                await asyncio.to_thread(self._commit, snap)
            except Exception as exc:
                self._write_failed(exc)
                return False
            # only what was stored leaves memory; what arrived meanwhile stays pending
            del ingestor.pending_records[: len(snap.records)]
            del ingestor.pending_access[: len(snap.access)]
            del self.set_aside.pending[: len(snap.aside)]
            self._saved_version = version
            if clock != self._clock_seen[0]:
                self._clock_seen = (clock, time.monotonic())
            if self.write_error is not None:
                log.info("saving to the database again")
                self.write_error, self._retry_at = None, 0.0
                self._retry_now.set()
            await asyncio.to_thread(self._write_files, bool(snap.records))
            return True

    def _write_failed(self, exc: Exception) -> None:
        message = f"cannot save to the database: {error_line(exc)}"
        if message != self.write_error:
            log.error("%s (kept in memory; retrying)", message)
        self.write_error = message
        self._retry_at = time.monotonic() + RETRY_FIRST_S

    def _commit(self, snap: Snapshot) -> None:
        """One transaction: records (+ roll-ups), set-aside items, checkpoint, access-log intent.

        A record the database refuses is set aside (gaze.setaside.add_records_or_set_aside: found by
        halving the batch in savepoints), never allowed to hold back the records with it.
        """
        today = local_day(None)
        refused = SetAside()
        with Session(self.engine) as db, db.begin():
            setaside.add_records_or_set_aside(db, snap.records, LIVE, aside=refused, outbox=self.outbox)
            dropped = setaside.store(db, snap.aside + refused.pending)
            row = db.get(Checkpoint, CHECKPOINT)
            if row is None:
                row = Checkpoint(name=CHECKPOINT)
                db.add(row)
            row.cursor = snap.cursor
            row.state = json.dumps(snap.state, separators=(",", ":"))
            row.updated_ms = self.wall_ms()
            data = "".join(snap.access).encode("utf-8", errors="replace")
            self._access_staged = bool(snap.access) and self.access_log.stage(db, data, today)
        self.set_aside.dropped += dropped
        if refused.count:
            log.error("set aside %d record(s) the database refused: %s", refused.count, refused.last_error)
            self.set_aside.count += refused.count
            self.set_aside.last_error = refused.last_error

    def _write_files(self, new_records: bool) -> None:
        """After a commit: complete the staged access-log write and bring the session log up to date.
        A failure here is the log writers' status (retried by the tick), not the commit's."""
        try:
            if self._access_staged:
                self.access_log.complete(local_day(None))
            if new_records or self.sessions_log.status.waiting or not self.sessions_log.status.ok:
                self.sessions_log.flush()
        except Exception as exc:
            log.error("writing the log files failed: %s (retried)", error_line(exc))

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
        """Once a second (the runtime's tick job): notice a replaced journal file, expire idle sessions,
        save what changed, retry unwritten files."""
        if self._reader is not None:
            self._reader.check_file()
        if self._lock.locked():
            return
        now = self.effective_now_ms()
        if now is not None and self.reader_state.status == "following":
            self.store.expire(now)
        if self.write_error is not None and time.monotonic() < self._retry_at:
            return  # the database refused a moment ago: back off
        if self._unsaved():
            if not await self.persist():
                self._retry_at = time.monotonic() + RETRY_TICK_S
        elif not (self.sessions_log.status.ok and self.access_log.status.ok):
            async with self._lock:
                await asyncio.to_thread(self._retry_files)

    def _unsaved(self) -> bool:
        ingestor = self.ingestor
        return bool(
            ingestor.pending_records
            or ingestor.pending_access
            or self.set_aside.pending
            or self.store.version != self._saved_version
        )

    def _retry_files(self) -> None:
        self.access_log.complete(local_day(None))
        self.sessions_log.flush()

    async def rotate_due(self) -> None:
        """The midnight job: archive yesterday's plain files and prune old archives."""
        async with self._lock:
            for writer in (self.sessions_log, self.access_log):
                try:
                    await asyncio.to_thread(writer.rotate_due)
                except Exception as exc:  # reported in the status; the next write retries
                    log.error("rotation of %s failed: %s", writer.stem, error_line(exc))
