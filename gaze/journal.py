"""Read oc4d's lines from the systemd journal — DESIGN §1.

- `JournalReader` follows `journalctl -f -o json` as an asyncio subprocess, restarts it with exponential
  backoff from the last cursor, publishes its state in `ReaderState` (a gone cursor: gaze/resume.py).
- `decode_json_line` / `decode_text_line` / `iter_text`: `-o json` / `-o short-iso` lines as entries.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

from gaze import resume

log = logging.getLogger(__name__)

MAX_LINE = 16 * 1024 * 1024  # a longer journal line is counted as an error and skipped
BACKOFF_FIRST_S = 0.5
BACKOFF_MAX_S = 30.0
HEALTHY_RUN_S = 10.0  # a journalctl that ran this long resets the backoff
EXIT_WAIT_S = 2.0  # a journalctl whose output ended has this long to exit before it is killed
OUTPUT_FIELDS = "MESSAGE"  # journalctl adds __CURSOR and __REALTIME_TIMESTAMP itself


class JournalEntry(NamedTuple):  # a tuple: made once per journal line, so it must be cheap
    cursor: str | None
    realtime_us: int | None
    message: str

    @property
    def realtime_ms(self) -> int | None:
        return None if self.realtime_us is None else self.realtime_us // 1000


class MalformedLine(ValueError):
    """A line of journalctl output that is not a journal entry."""


# ---------------------------------------------------------------- decoding


def _text(value: object) -> str:
    """A journal field as text: journald emits non-UTF-8 values as arrays of byte values."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        if value and all(isinstance(b, int) for b in value):
            return bytes(b & 0xFF for b in value).decode("utf-8", errors="replace")
        if value:  # a field present several times: the first value
            return _text(value[0])
    return "" if value is None else str(value)


def decode_json_line(line: bytes | str) -> JournalEntry:
    """One line of `journalctl -o json`. Raises MalformedLine."""
    try:
        obj = json.loads(line)
    except ValueError as exc:
        raise MalformedLine(f"not JSON: {exc}") from None
    except RecursionError:
        raise MalformedLine("JSON nested too deeply") from None
    if not isinstance(obj, dict):
        raise MalformedLine("not a JSON object")
    realtime = obj.get("__REALTIME_TIMESTAMP")
    try:
        realtime_us = int(realtime) if realtime is not None else None
    except (TypeError, ValueError):
        realtime_us = None
    cursor = obj.get("__CURSOR")
    return JournalEntry(cursor if isinstance(cursor, str) else None, realtime_us, _text(obj.get("MESSAGE")))


def decode_text_line(line: str) -> JournalEntry:
    """One line of `journalctl -o short-iso` (or short-iso-precise); the time prefix is optional."""
    line = line.rstrip("\r\n")
    head, _, _ = line.partition(" ")
    realtime_us = None
    if head[:4].isdigit() and "T" in head:
        with contextlib.suppress(ValueError):
            realtime_us = _datetime_us(datetime.fromisoformat(head))
    return JournalEntry(None, realtime_us, line)


def _datetime_us(when: datetime) -> int:
    if when.tzinfo is None:
        when = when.astimezone()
    return int(when.timestamp()) * 1_000_000 + when.microsecond


def last_cursor(entries: Iterable[JournalEntry]) -> str | None:
    """The cursor to resume after these entries: the last one that has a cursor."""
    return next((e.cursor for e in reversed(list(entries)) if e.cursor), None)


def iter_text(lines: Iterable[bytes], errors: list[str]) -> Iterator[JournalEntry]:
    """Entries of a short-iso text stream (bytes decoded as UTF-8 with replacement)."""
    for line in lines:
        text = line.decode("utf-8", errors="replace")
        if text.strip() and not text.startswith("-- "):  # "-- Boot …" / "-- No entries --" markers
            yield decode_text_line(text)


# ---------------------------------------------------------------- journalctl command line


@dataclass(frozen=True, slots=True)
class JournalSource:
    unit: str = "oc4d.service"
    directory: Path | None = None
    file: Path | None = None
    journalctl: str = "journalctl"

    def args(
        self,
        *,
        follow: bool,
        cursor: str | None = None,
        since: str | None = None,
        until: str | None = None,
        output: str = "json",
    ) -> list[str]:
        """journalctl's command line; output "export" (gaze.journal_export) or JSON with --all (without
        it journalctl prints null for any JSON field of 4096 bytes or more)."""
        args = [self.journalctl, "-o", output, f"--output-fields={OUTPUT_FIELDS}", "--no-pager", "-q"]
        args += ["--all"] if output == "json" else []
        if self.unit:
            args += ["-u", self.unit]
        if self.directory is not None:
            args += ["--directory", str(self.directory.absolute())]
        if self.file is not None:
            # absolute: `journalctl --file NAME -f` with a bare relative name prints nothing and exits 0
            args += ["--file", str(self.file.absolute())]
        if cursor:
            args.append(f"--after-cursor={cursor}")
        elif since:
            args.append(f"--since={since}")
        if until:
            args.append(f"--until={until}")
        if follow:
            args += ["-f", "-n", "all"]
        return args


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


Batch = list[JournalEntry]


class JournalReader:
    """Follow journalctl; deliver entries in batches; restart with backoff from the last cursor.

    `on_batch(entries)` must have durably processed the entries when it returns: the reader then
    moves its cursor past them, so a restart resumes exactly after the last processed entry.
    """

    def __init__(
        self,
        source: JournalSource,
        on_batch: Callable[[Batch], Awaitable[None]],
        *,
        cursor: str | None = None,
        since: str | None = None,
        state: ReaderState | None = None,
        batch_size: int = 2000,
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
        args = self.source.args(follow=True, cursor=cursor, since=None if cursor else self.since)
        if shutil.which(args[0]) is None and not os.path.exists(args[0]):
            raise FileNotFoundError(args[0])
        catch_up = None
        gone = resume.entry_id(cursor)
        if self._from_start:
            args = self.source.args(follow=True)
        elif cursor and gone and await resume.cursor_present(self.source, cursor) is False:
            # --after-cursor would seek by time and skip entries, and -f mixes up the order of several
            # file sets (gaze/resume.py): read the whole journal once without -f, then follow
            catch_up = self._read_before = resume.ReadAgain(cursor, gone)
            args = self.source.args(follow=False)
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
        if self._stop.is_set():
            process.terminate()  # stop() came while we were getting here: it found no process to end
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
        assert process.stdout is not None
        buffer = b""
        skipping = False  # inside an over-long line
        while True:
            chunk = await process.stdout.read(1 << 16)
            if not chunk:
                return
            lines = chunk.split(b"\n")
            if skipping:
                if len(lines) == 1:
                    continue
                lines, skipping = lines[1:], False
            lines[0] = buffer + lines[0]
            buffer = lines.pop()
            if len(buffer) > MAX_LINE:
                self.state.errors += 1
                log.warning("skipped a journal line over %d bytes", MAX_LINE)
                buffer, skipping = b"", True
            batch: Batch = []
            again = self._read_before
            for line in lines:
                if not line.strip():
                    continue
                self.state.lines += 1
                try:
                    entry = decode_json_line(line)
                    if again is None or again.keep(entry):
                        batch.append(entry)
                except MalformedLine as exc:
                    self.state.errors += 1
                    log.warning("skipped a malformed journal line: %s", exc)
                if len(batch) >= self.batch_size:
                    await self._deliver(batch)
                    batch = []
            if batch:
                await self._deliver(batch)
            if self._stop.is_set():
                return

    async def _deliver(self, batch: Batch) -> None:
        if batch:
            self.state.last_line_at = time.time()
        await self.on_batch(batch)
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
