"""The write path: entries → Ingestor → database checkpoint → log files.

One per process, fed by gaze/sources.py (the journal reader or the demo classroom) and by the
heartbeat route. Every batch of journal entries is committed together with the session records it
closed, the open sessions and the journal cursor, so a restart — clean or SIGKILL — resumes exactly
where the last commit left off; the log writers then put each record into the files exactly once.
It publishes its state as one frozen `Status` (gaze/status.py) on each tick and change: all the UI reads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from sqlalchemy import Engine

from gaze.checkpoint import Snapshot, commit, load_checkpoint, write_files
from gaze.config import Settings
from gaze.ingest import Ingestor
from gaze.journal import EntryBatch, ReaderState, last_cursor
from gaze.localtime import local_day
from gaze.logs import ACCESS_STEM, SESSIONS_STEM, DailyLog, ExactlyOnceLog, SessionLogWriter
from gaze.sessions import Key, OpenSession, SessionStore
from gaze.setaside import SetAside, error_line
from gaze.status import Aside, Feed, Reader, Status, Writer
from gaze.takeover import Takeover, take_over

log = logging.getLogger(__name__)

RETRY_FIRST_S = 0.5  # a batch the database refused is retried after this, doubling …
RETRY_MAX_S = 30.0  # … up to this
FEED_SLICE = 250  # entries of a batch fed between two turns of the event loop
RETRY_TICK_S = 5.0  # the tick's own save retries no more often than this while the database refuses
# Catching up (issue 21): a batch the reader delivers with more output already waiting (a full
# batch while journalctl's output flows: `more_coming`) is saved together with the next ones, up to SAVE_ENTRIES
# entries, SAVE_RECORDS records waiting or SAVE_S seconds after the last save: each save's fixed
# cost (the checkpoint with the open sessions, the session log's flush) is paid per SAVE_ENTRIES,
# while one batch and at most SAVE_RECORDS records are in memory. What a kill loses is read again
# from the saved checkpoint, as before.
SAVE_ENTRIES = 25_000
SAVE_RECORDS = 500
SAVE_S = 2.0


class Recorder:
    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        *,
        wall_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
        demo: bool = False,
    ) -> None:
        self.settings = settings
        self.demo = demo
        self.engine = engine
        self.store = SessionStore(settings.idle_timeout_seconds, settings.max_open_sessions, track_changes=True)
        self.ingestor = Ingestor(
            self.store, include_loopback=settings.include_loopback, tee_access=settings.tee_access_log
        )
        retention = settings.retention_days
        self.sessions_log = SessionLogWriter(
            engine, DailyLog(settings.log_dir, SESSIONS_STEM, retention_days=retention)
        )
        self.access_log = ExactlyOnceLog(engine, DailyLog(settings.log_dir, ACCESS_STEM, retention_days=retention))
        self.reader_state = ReaderState()  # the feed's reader sets it; its last line's time is saved here
        self.feed: Feed | None = None  # set by the feed (gaze.sources.Sources)
        self.wall_ms = wall_ms
        self.cursor: str | None = None
        self._lock = asyncio.Lock()
        # set by a save that got through (it stored a held batch too) and by wake(): the wait to
        # retry a batch the database refused ends at once
        self._retry_now = asyncio.Event()
        self.set_aside = SetAside()
        self.outbox = settings.uplink_on(demo=demo)  # queue closed records for the uplink
        self.restored = False  # restore() has loaded the checkpoint
        # journalctl's --since while there is no cursor (None: the whole journal); kept in the checkpoint
        self.since = settings.journal_since_arg
        self.takeover: Takeover | None = None  # what this start took over from another writer
        self.write_error: str | None = None  # why the last save failed, in words; None when saving works
        self._retry_at = 0.0
        self._access_staged = False
        self._clock_seen: tuple[int | None, float] = (None, time.monotonic())
        self._saved_version = self.store.version  # store.version the checkpoint holds
        self._saved_cursor: str | None = None  # the cursor the checkpoint holds
        self._fed_since_save = 0  # entries of catch-up batches fed since the last save
        self._saved_at = time.monotonic()
        self.status = Status()  # the latest published; replaced, never changed
        self.reader_state.listeners.append(lambda _state: self.publish())

    def publish(self) -> None:
        """Publish what the recorder says about itself now (on each tick and each change)."""
        self.status = Status(
            running=self.feed is not None and self.feed.running,
            reader=Reader.of(self.reader_state),
            write_error=self.write_error,
            sessions_log=Writer.of(self.sessions_log.status),
            access_log=Writer.of(self.access_log.status),
            set_aside=Aside.of(self.set_aside),
            takeover=self.takeover.status_text() if self.takeover is not None else "",
            open_sessions=len(self.store),
            dropped_at_capacity=self.store.dropped,
            counters=self.ingestor.counters.as_dict(),
        )

    def sessions(self) -> list[OpenSession]:
        """The open sessions now."""
        return self.store.sessions()

    def drain_changes(self) -> dict[Key, OpenSession | None]:
        """The open sessions that changed since the last call (None: ended), for the live board."""
        return self.store.drain_changes()

    def restore(self) -> None:
        """Load the checkpoint and finish any log write a crash interrupted (blocking; call once)."""
        self.cursor, state = load_checkpoint(self.engine)
        self._saved_cursor = self.cursor
        if state:
            self.store.load_state(state)
            last_line_at = state.get("last_line_at")
            if isinstance(last_line_at, int | float):
                self.reader_state.last_line_at = float(last_line_at)
            since = state.get("since", self.since)
            self.since = since if isinstance(since, str) else None
            teed = state.get("teed_until_ms")
            self.ingestor.teed_until_ms = teed if isinstance(teed, int) else None
        self._saved_version = self.store.version
        self._clock_seen = (self.store.clock_ms, time.monotonic())
        self.restored = True
        if not state and self.cursor is None and not self.demo:
            self._take_over()
        self.access_log.recover()
        self.sessions_log.recover()
        self.sessions_log.flush()
        self.publish()

    def _take_over(self) -> None:
        """First start with no checkpoint: take over the log folder (gaze.takeover); saved at once."""
        takeover = take_over(self.engine, self.settings.log_dir, self.since, self.wall_ms())
        if takeover is None:
            return
        self.takeover, self.since = takeover, takeover.since
        self.store.clock_ms = takeover.latest_end_ms  # nothing we record can end at or before it
        self.ingestor.teed_until_ms = takeover.teed_until_ms  # nor is an access line written twice
        self._clock_seen = (self.store.clock_ms, time.monotonic())
        self._commit(Snapshot(None, self._state(), [], [], [], self.store.open_json()))  # a restart keeps it

    def _state(self) -> dict[str, object]:  # the last line's time, where reading starts (+ store.open_json())
        return {
            **self.store.state_fields(),
            "last_line_at": self.reader_state.last_line_at,
            "since": self.since,
            "teed_until_ms": self.ingestor.teed_until_ms,
        }

    def wake(self) -> None:
        """End a held batch's wait for its next save attempt now (the feed stops)."""
        self._retry_now.set()

    async def record(
        self,
        entries: EntryBatch,
        skipped_to: str | None = None,
        stopping: asyncio.Event | None = None,
        more_coming: bool = False,
    ) -> None:
        """Process a batch, then hold the reader until the checkpoint that includes it is saved (a
        catch-up batch: saved with the next ones, `_save_later`; the tick saves what is left).

        The batch is fed once: while the database refuses the write, the records, open sessions and
        cursor wait together in memory and the same write is retried with backoff (or at once when
        the tick's save gets through, which stored them: the status is right again). Nothing is
        taken from memory before it is stored, so a kill at any point resumes from the last saved
        checkpoint and reads the batch again. `skipped_to`: the cursor of entries read before (the
        reader's catch-up); `stopping`: set when the feed stops (then wake() ends the wait);
        `more_coming`: the reader holds more output already (catching up), so this batch may be
        saved with the next ones. Without it, `record` returns once the batch is saved.
        """
        async with self._lock:  # the tick saves nothing while a batch is fed only in part
            for start in range(0, len(entries), FEED_SLICE):
                if start:  # a big batch (catching up): let the board and /healthz in between
                    await asyncio.sleep(0)
                self.feed_entries(entries[start : start + FEED_SLICE])
        self.cursor = last_cursor(entries) or skipped_to or self.cursor
        if more_coming and self._save_later(len(entries)):
            return
        delay = RETRY_FIRST_S
        while not await self.persist():
            if stopping is not None and stopping.is_set():
                return  # still in memory: the next start resumes after it, a restart re-reads it
            self.reader_state.set("stalled", self.write_error or "", time.time() + delay)
            self._retry_now.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._retry_now.wait(), delay)
            delay = min(delay * 2, RETRY_MAX_S)
        if self.reader_state.status == "stalled":
            self.reader_state.set("following")

    def _save_later(self, fed: int) -> bool:
        """Is this catch-up batch saved with the next ones (SAVE_ENTRIES, SAVE_RECORDS, SAVE_S)?"""
        if self.write_error is not None:
            return False
        self._fed_since_save += fed
        return (
            self._fed_since_save < SAVE_ENTRIES
            and len(self.ingestor.pending_records) < SAVE_RECORDS
            and time.monotonic() - self._saved_at < SAVE_S
        )

    def feed_entries(self, entries: EntryBatch) -> None:
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
                self.store.open_json(),  # re-encodes only the sessions changed since the last save
            )
            version, clock, fed = self.store.version, self.store.clock_ms, self._fed_since_save
            try:
                await asyncio.to_thread(self._commit, snap)
            except Exception as exc:
                self._write_failed(exc)
                self.publish()
                return False
            # only what was stored leaves memory; what arrived meanwhile stays pending
            del ingestor.pending_records[: len(snap.records)]
            del ingestor.pending_access[: len(snap.access)]
            del self.set_aside.pending[: len(snap.aside)]
            self._saved_version, self._saved_cursor = version, snap.cursor
            self._fed_since_save -= fed
            self._saved_at = time.monotonic()
            if clock != self._clock_seen[0]:
                self._clock_seen = (clock, time.monotonic())
            if self.write_error is not None:
                log.info("saving to the database again")
                self.write_error, self._retry_at = None, 0.0
                self._retry_now.set()
            staged = self.access_log if self._access_staged else None
            await asyncio.to_thread(write_files, staged, self.sessions_log, bool(snap.records))
            self.publish()
            return True

    def _write_failed(self, exc: Exception) -> None:
        message = f"cannot save to the database: {error_line(exc)}"
        if message != self.write_error:
            log.error("%s (kept in memory; retrying)", message)
        self.write_error = message
        self._retry_at = time.monotonic() + RETRY_FIRST_S

    def _commit(self, snap: Snapshot) -> None:
        """Commit `snap` (gaze.checkpoint.commit); what the database refused is counted as set aside."""
        self._access_staged = commit(
            self.engine, snap, self.access_log, self.set_aside, outbox=self.outbox, now_ms=self.wall_ms()
        )

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
        """Once a second (the runtime's tick job, after the feed's own): expire idle sessions, save
        what changed, retry unwritten files; publish the status."""
        try:
            await self._tick()
        finally:
            self.publish()

    async def _tick(self) -> None:
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
            or self.cursor != self._saved_cursor
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
        self.publish()
