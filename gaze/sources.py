"""What feeds the recorder (gaze/recorder.py): the journal reader — after a probe says journalctl can
read the journal — or, in demo mode, the simulated classroom. One per process; started and stopped
from the board, from start-up (background monitoring) and at shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from gaze.journal import EntryBatch, JournalReader, JournalSource
from gaze.recorder import Recorder
from gaze.simulator import DEMO_DETAIL, probe_journal, run_demo

log = logging.getLogger(__name__)

PROBE_RETRY_S = 30.0  # while the journal cannot be read


class Sources:
    def __init__(self, recorder: Recorder, source: JournalSource | None = None, *, demo: bool = False) -> None:
        settings = recorder.settings
        self.recorder = recorder
        self.demo = demo
        self.source = source or JournalSource.from_settings(settings)
        self.reader_state = recorder.reader_state  # the recorder saves its last line's time
        self._reader: JournalReader | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = (
            asyncio.Event()
        )  # set by stop(): ends the demo source, a retry or the wait for a readable journal
        recorder.feed = self

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start following the journal — or the simulated classroom in demo mode (idempotent)."""
        if self.running:
            return
        recorder = self.recorder
        if not recorder.restored:  # the checkpoint is not loaded (database unreachable so far)
            log.warning("monitoring starts when the database answers")
            return
        self._stopping.clear()
        # A plain asyncio task, not NiceGUI's background_tasks: gaze/ never imports NiceGUI (it runs
        # under `main.py follow` and the tests too); this object keeps the task and awaits it on stop.
        if self.demo:
            self._task = asyncio.create_task(self._run_demo(), name="demo-source")
        else:
            self._reader = JournalReader(
                self.source, self._on_batch, cursor=recorder.cursor, since=recorder.since, state=self.reader_state
            )
            self._task = asyncio.create_task(self._follow(self._reader), name="journal-reader")
        recorder.publish()

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
            await run_demo(self._demo_feed, self._stopping, resume_ms=self.recorder.store.clock_ms)
        finally:
            self.reader_state.set("stopped")

    def _demo_feed(self, entries: EntryBatch) -> None:
        self.reader_state.lines += len(entries)
        self.reader_state.last_line_at = time.time()
        self.recorder.feed_entries(entries)

    async def _on_batch(self, entries: EntryBatch) -> None:
        """The reader's batch: recorded, the reader held until it is saved (Recorder.record)."""
        reader = self._reader
        skipped_to, more_coming = (reader.skipped_to, reader.more_coming) if reader is not None else (None, False)
        await self.recorder.record(entries, skipped_to, self._stopping, more_coming)

    def check_file(self) -> None:
        """On the runtime's tick: notice a replaced journal file (JournalReader.check_file)."""
        if self._reader is not None:
            self._reader.check_file()

    async def stop(self) -> None:
        """Stop following; the checkpoint stays where the last batch left it."""
        self._stopping.set()
        self.recorder.wake()
        if self._reader is not None:
            self._reader.stop()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None
        self.recorder.publish()
