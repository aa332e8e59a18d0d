"""Read oc4d's lines from the systemd journal — DESIGN §1.

- `JournalReader` follows `journalctl -f -o export` as an asyncio subprocess, restarts it with
  exponential backoff from the last processed cursor, and publishes its state in `ReaderState`;
  a cursor whose entry is gone, or a --file replaced under it, is handled in gaze/resume.py.
- journalctl's command line (`JournalSource`) and `JournalEntry` are gaze/journalctl.py (both names
  are found here too); its `-o export` output is read by gaze/journal_export.py (`ExportParser`).
- Catching up (the output is there already), the next entries are decoded while a batch is saved
  (gaze/readahead.py) and the batches are full (`batch_size`); a live line goes out at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from gaze import resume
from gaze.journal_export import ExportParser, Raw, export_entry
from gaze.journalctl import JournalEntry, JournalSource
from gaze.readahead import ReadAhead

__all__ = [
    "BACKOFF_FIRST_S",
    "BACKOFF_MAX_S",
    "EXIT_WAIT_S",
    "HEALTHY_RUN_S",
    "MAX_LINE",
    "EntryBatch",
    "JournalEntry",
    "JournalReader",
    "JournalSource",
    "ReaderState",
    "last_cursor",
]

log = logging.getLogger(__name__)

MAX_LINE = 16 * 1024 * 1024  # a longer journal entry is counted as an error and skipped
BACKOFF_FIRST_S = 0.5
BACKOFF_MAX_S = 30.0
HEALTHY_RUN_S = 10.0  # a journalctl that ran this long resets the backoff
EXIT_WAIT_S = 2.0  # a journalctl whose output ended has this long to exit before it is killed
READ_BYTES = 1 << 16  # one read of journalctl's output
AHEAD_BATCHES = 1  # entries decoded ahead of the batch being saved: up to this many batches' worth
HOLD_S = 0.02  # while output flows (reads this close together), a batch not full yet waits this long for more
OUTPUT = "export"  # journalctl's output: a few times cheaper to write and to read than JSON (gaze/journal_export.py)


def last_cursor(entries: Iterable[JournalEntry]) -> str | None:
    """The cursor to resume after these entries: the last one that has a cursor."""
    return next((e.cursor for e in reversed(list(entries)) if e.cursor), None)


# ---------------------------------------------------------------- live reader


@dataclass
class ReaderState:
    """What the UI and /healthz show about the reader; mutated only by the reader."""

    status: str = "stopped"  # stopped | starting | following | stalled | restarting | missing | unreadable
    detail: str = ""
    retry_at: float | None = None  # wall time of the next start attempt while restarting/missing
    last_line_at: float | None = None  # wall time the last line arrived
    lines: int = 0
    errors: int = 0
    restarts: int = 0
    cursor: str | None = None
    note: str = ""  # where reading went on after the saved place was gone from the log (plain words)
    cursor_gone: dict[str, object] | None = None  # the same for /healthz: saved cursor, where reading went on
    listeners: list[Callable[[ReaderState], None]] = field(default_factory=list, repr=False)

    def set(self, status: str, detail: str = "", retry_at: float | None = None) -> None:
        self.status, self.detail, self.retry_at = status, detail, retry_at
        for listener in self.listeners:
            listener(self)


EntryBatch = list[JournalEntry]


class JournalReader:
    """Follow journalctl; deliver entries in batches; restart with backoff from the last cursor.

    `on_batch(entries)` must have processed the entries when it returns: the reader then moves its
    cursor past them, so a restart of journalctl resumes exactly after the last processed entry. It
    saves them durably at once, or (a full catch-up batch, gaze/recorder.py) with the next ones: a
    new process resumes after the last saved entry.
    """

    def __init__(
        self,
        source: JournalSource,
        on_batch: Callable[[EntryBatch], Awaitable[None]],
        *,
        cursor: str | None = None,
        since: str | None = None,
        state: ReaderState | None = None,
        batch_size: int = 5000,
    ) -> None:
        self.source = source
        self.on_batch = on_batch
        self.since = since
        self.state = state or ReaderState()
        self.state.cursor = cursor
        self.batch_size = batch_size
        self._stop = asyncio.Event()
        self._process: asyncio.subprocess.Process | None = None
        self._file_id: tuple[int, int, bytes] | None = None  # the --file journalctl opened
        self._restart_now = False  # start journalctl again without waiting: file replaced, caught up
        self._read_before: resume.ReadAgain | None = None  # set once the saved cursor was gone
        self._from_start = False  # a catch-up read nothing: follow the journal from its start
        self.more_coming = False  # during on_batch: more output is already read (a full batch while catching up)
        self.skipped_to: str | None = None  # during on_batch([]): the cursor of entries read before

    @property
    def cursor(self) -> str | None:
        return self.state.cursor

    async def run(self) -> None:
        """Run until stop() is called."""
        self._stop.clear()
        delay = BACKOFF_FIRST_S
        while not self._stop.is_set():
            started = time.monotonic()
            self.state.set("starting")
            try:
                reason = await self._run_once()
            except FileNotFoundError:
                if self._stop.is_set():
                    break
                retry_at = time.time() + delay
                self.state.set("missing", f"{self.source.journalctl} not found", retry_at)
                log.warning("journalctl not found; retrying in %.1fs", delay)
            except Exception as exc:  # whatever it was, the reader stays alive and starts again
                if self._stop.is_set():
                    break
                self.state.restarts += 1
                detail = f"{type(exc).__name__}: {exc}"[:300]
                self.state.set("restarting", detail, time.time() + delay)
                log.exception("journal reader failed; restarting in %.1fs", delay)
            else:
                if self._stop.is_set():
                    break
                if self._restart_now:  # a planned restart: at once
                    self._restart_now, delay = False, BACKOFF_FIRST_S
                    continue
                if time.monotonic() - started >= HEALTHY_RUN_S:
                    delay = BACKOFF_FIRST_S
                self.state.restarts += 1
                self.state.set("restarting", reason or "journalctl exited", time.time() + delay)
                log.warning("journalctl stopped (%s); restarting in %.1fs", reason, delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), delay)
            delay = min(delay * 2, BACKOFF_MAX_S)
        self.state.set("stopped")

    def stop(self) -> None:
        self._stop.set()
        if self._process is not None and self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._process.terminate()

    def check_file(self) -> bool:
        """On the runtime's tick: was the --file journal replaced (removed, a new file written at its
        path)? `journalctl -f` would keep following the removed file for ever; stop it, so that
        run() starts it again on the new file (whose entries the cursor check then reads)."""
        process = self._process
        if self.source.file is None or process is None or process.returncode is not None:
            return False
        current = resume.file_id(self.source.file)
        if current is None or current == self._file_id:
            return False  # gone without a successor yet: journalctl still reads the old one
        log.warning("%s was replaced by a new file; reading the new one", self.source.file)
        self._restart_now = True
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        return True

    async def _run_once(self) -> str:
        cursor = self.state.cursor
        since = None if cursor else self.since
        args = self.source.args(follow=True, cursor=cursor, since=since, output=OUTPUT)
        if shutil.which(args[0]) is None and not os.path.exists(args[0]):
            raise FileNotFoundError(args[0])
        catch_up = None
        gone = resume.entry_id(cursor)
        if self._from_start:
            args = self.source.args(follow=True, output=OUTPUT)
        elif cursor and gone and await resume.cursor_present(self.source, cursor) is False:
            # --after-cursor would seek by time and skip entries, and -f mixes up the order of several
            # file sets (gaze/resume.py): read the whole journal once without -f, then follow
            catch_up = self._read_before = resume.ReadAgain(cursor, gone)
            args = self.source.args(follow=False, output=OUTPUT)
            log.warning(
                "the saved journal cursor %s is not in the journal any more (rotated, vacuumed or replaced); "
                "reading every entry not read yet from the start of the journal",
                cursor,
            )
        self._file_id = None if self.source.file is None else resume.file_id(self.source.file)
        process = await asyncio.create_subprocess_exec(
            *args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        self._process = process
        if self._stop.is_set():  # stop() came while we were getting here: it found no process to end
            process.terminate()
        stderr_task = asyncio.create_task(self._tail_stderr(process))
        self.state.set("following")
        try:
            await self._pump(process)
        finally:
            assert process.stdout is not None
            if process.returncode is None and process.stdout.at_eof():
                # journalctl is exiting: let asyncio's child watcher collect its exit code (kill()
                # would reap it first, through Popen.poll(), and the code would read 255)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(process.wait(), EXIT_WAIT_S)
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
            code = await process.wait()
            last_error = await stderr_task
            self._process = None
        if catch_up is not None and code == 0 and not self._stop.is_set():
            await self._caught_up(catch_up)
        return f"exit code {code}" + (f": {last_error}" if last_error else "")

    async def _tail_stderr(self, process: asyncio.subprocess.Process) -> str:
        assert process.stderr is not None
        last = ""
        async for raw in process.stderr:
            text = raw.decode("utf-8", errors="replace").strip()
            if text:
                last = text[:300]
                log.warning("journalctl: %s", last)
        return last

    async def _pump(self, process: asyncio.subprocess.Process) -> None:
        """Deliver what `_read_ahead` decodes: a batch when it holds `batch_size` entries, or when
        nothing more is coming now (`ReadAhead.coming`). A live line goes out at once; while
        catching up (the output is already there: the reads follow each other) the next entries are
        decoded while a batch is saved, and a batch waits until it holds `batch_size`, so that the
        fixed cost of each (a commit, the file writes) is paid per batch, not per 64 KiB read."""
        assert process.stdout is not None
        ahead = ReadAhead(AHEAD_BATCHES * self.batch_size, HOLD_S)
        reading = asyncio.create_task(self._read_ahead(process.stdout, ahead))
        batch: EntryBatch = []
        try:
            while True:
                entries = await ahead.get()
                if entries is None:  # the end of journalctl's output
                    await self._deliver_any(batch)
                    return
                batch += entries
                while len(batch) >= self.batch_size:
                    await self._deliver(batch[: self.batch_size], more_coming=True)
                    batch = batch[self.batch_size :]
                if self._stop.is_set() or (batch and not await ahead.coming()):
                    batch = await self._deliver_any(batch)  # nothing more is coming now: what we have goes out
                if self._stop.is_set():
                    return
        finally:
            reading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reading

    async def _read_ahead(self, stdout: asyncio.StreamReader, ahead: ReadAhead) -> None:
        """Read and decode journalctl's output into `ahead`, the entries of one read at a time (some
        reads give none), while `_pump` delivers what came before; None at its end."""
        parser = ExportParser()
        try:
            while chunk := await stdout.read(READ_BYTES):
                raws = parser.feed(chunk)
                if len(parser.buf) > MAX_LINE:
                    self.state.errors += 1
                    log.warning("skipped a journal entry over %d bytes", MAX_LINE)
                    parser.drop()
                await ahead.put(self._decode(raws))
            ahead.put_end(None)  # an entry cut off (journalctl killed) is read again after a restart
        except Exception as exc:
            ahead.put_end(exc)

    def _decode(self, raws: list[Raw]) -> EntryBatch:
        """Journal entries of export entries (as `decode_json_line` reads them from `-o json`)."""
        again = self._read_before
        self.state.lines += len(raws)
        entries = [export_entry(*raw) for raw in raws]
        return entries if again is None else [e for e in entries if again.keep(e)]

    async def _deliver_any(self, batch: EntryBatch) -> EntryBatch:
        """Deliver `batch` unless it is empty; an empty batch to fill next."""
        if batch:
            await self._deliver(batch)
        return []

    async def _deliver(self, batch: EntryBatch, more_coming: bool = False) -> None:
        if batch:
            self.state.last_line_at = time.time()
        self.more_coming = more_coming
        try:
            await self.on_batch(batch)
        finally:
            self.more_coming = False
        cursor = last_cursor(batch) or self.skipped_to
        if cursor:
            self.state.cursor, self._from_start = cursor, False
        again = self._read_before
        if again is not None and again.first is not None and not again.told:
            again.tell(self.state)

    async def _caught_up(self, again: resume.ReadAgain) -> None:
        """The catch-up read the whole journal: follow it now, after the last entry it printed."""
        self._restart_now = True
        if again.last_seen is None:
            self._from_start = True  # an empty journal: follow it from its start
        elif again.last_seen != self.state.cursor:  # the last ones were read before: save that place
            self.skipped_to = again.last_seen
            try:
                await self._deliver([])
            finally:
                self.skipped_to = None
        if not again.told:
            again.tell(self.state)
