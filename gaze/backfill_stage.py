"""Backfill's reading stage, in a process of its own: the input (journalctl -o export, or a file or
standard input in JSON or short-iso text) through the Ingestor and the SessionStore, the records
they close sent to the backfill command (gaze.backfill), which stores and writes them.

Two processes use the machine's two cores: this one parses and sessionizes, the command meanwhile
loads SQLAlchemy, opens the database and writes the records of the batches already closed (it
would otherwise do all of that after the parsing, on the same core). journalctl writes straight
into this process's standard input. Only the standard library and the parsing modules are loaded
here (0.04 s of start-up, no SQLAlchemy: tests/test_backfill_stage.py checks it).

The messages, pickled one after another on standard output: (RECORDS, [record fields, …]) in the
order the store closed them, (ASIDE, (entry, exception)) for an entry the pipeline raised on,
(PROGRESS, (bytes read, entries)) about five times a second when asked, and (END, counters) last.
The records are the ones the same Ingestor gives in one process: the same code runs here.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pickle
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gaze.journalctl import JournalSource

if TYPE_CHECKING:
    import argparse

    from gaze.config import Settings

RECORDS, ASIDE, PROGRESS, END = "records", "aside", "progress", "end"
BATCH = 500  # records a message
CHUNK = 1 << 20  # bytes a read
PIPE_BYTES = 1 << 20  # the pipes' size (Linux default 64 KiB; 1 MiB is the unprivileged maximum)
ROOT = Path(__file__).resolve().parent.parent
_CHILD = "import sys; sys.path.insert(0, sys.argv[1]); from gaze.backfill_stage import main; sys.exit(main())"

Message = tuple[str, Any]


@dataclass
class BackfillOptions:
    log_dir: Path
    input: str | None = None  # a file path, "-" for stdin, or None to read the journal
    format: str = "json"  # json | text
    since: str | None = None
    until: str | None = None
    source: JournalSource = field(default_factory=JournalSource)
    idle_timeout_s: int = 300
    max_sessions: int = 20_000
    include_loopback: bool = False
    retention_days: int = 365
    outbox: bool = False  # queue the new records for the uplink (DESIGN §8)

    @classmethod
    def from_command_line(cls, args: argparse.Namespace, settings: Settings, log_dir: Path) -> BackfillOptions:
        """`main.py backfill`'s options (gaze.cli_parser) and the settings they complete."""
        return cls(
            log_dir=log_dir,
            input=args.input,
            format=args.format,
            since=args.since,
            until=args.until,
            source=JournalSource.from_settings(settings, unit=args.unit, directory=args.directory, file=args.file),
            idle_timeout_s=settings.idle_timeout_seconds,
            max_sessions=settings.max_open_sessions,
            include_loopback=settings.include_loopback,
            retention_days=settings.retention_days,
            outbox=settings.uplink_on(),
        )


class Stage:
    """The reading process (and journalctl feeding it), started by `start`; `messages()` gives what
    it sends, `close()` ends both processes, `check()` raises when one of them failed."""

    def __init__(self, reader: subprocess.Popen[bytes], journalctl: subprocess.Popen[bytes] | None) -> None:
        self.reader = reader
        self.journalctl = journalctl
        self.ended = False

    @classmethod
    def start(cls, options: BackfillOptions, *, progress: bool = False) -> Stage:
        """journalctl (when the journal is the input) and the reading process, both running now."""
        mode = "text" if options.format == "text" and options.input is not None else options.format
        journalctl = None
        stdin: int | None = None  # standard input: the command's own for "-"
        if options.input is None:
            mode = "export"
            args = options.source.args(follow=False, since=options.since, until=options.until, output="export")
            journalctl = subprocess.Popen(args, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
            assert journalctl.stdout is not None  # stdout=PIPE
            stdin = os.dup(journalctl.stdout.fileno())
            journalctl.stdout.close()  # the reading process has it now (when it stops, journalctl stops)
            with contextlib.suppress(OSError, AttributeError):  # journalctl runs ahead while we start
                fcntl.fcntl(stdin, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
        elif options.input != "-":
            stdin = os.open(options.input, os.O_RDONLY)
        flags = [mode, str(options.idle_timeout_s), str(options.max_sessions), str(int(options.include_loopback))]
        try:
            reader = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", _CHILD, str(ROOT), *flags, str(int(progress))],
                stdin=stdin,
                stdout=subprocess.PIPE,
            )
        except BaseException:
            if journalctl is not None:
                journalctl.kill()
                journalctl.wait()
            raise
        finally:
            if stdin is not None:
                os.close(stdin)
        assert reader.stdout is not None  # stdout=PIPE
        with contextlib.suppress(OSError, AttributeError):  # it never waits for our database writes
            fcntl.fcntl(reader.stdout.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)
        return cls(reader, journalctl)

    def messages(self) -> Iterator[Message]:
        """What the reading process sends, up to and including END."""
        stream = self.reader.stdout
        assert stream is not None  # stdout=PIPE
        while True:
            try:
                message: Message = pickle.load(stream)
            except EOFError:
                return  # ended early: check() says why
            yield message
            if message[0] == END:
                self.ended = True
                return

    def close(self) -> None:
        """Wait for both processes (a reader that has not finished is stopped first)."""
        if not self.ended and self.reader.poll() is None:
            self.reader.kill()
        if self.reader.stdout is not None:
            self.reader.stdout.close()
        self.reader.wait()
        if self.journalctl is not None:
            if not self.ended and self.journalctl.poll() is None:
                self.journalctl.kill()
            self.journalctl.wait()

    def check(self) -> None:
        """RuntimeError when journalctl or the reading process failed (after close())."""
        if self.journalctl is not None and self.journalctl.returncode not in (0, None):
            raise RuntimeError(f"journalctl exited with code {self.journalctl.returncode}")
        if not self.ended:
            raise RuntimeError(f"the reading process stopped early (exit code {self.reader.returncode})")


# ---------------------------------------------------------------- the reading process


def main() -> int:
    """The reading process: argv is the checkout, the mode (export, json or text), the idle timeout,
    the session limit, loopback (0/1) and progress (0/1)."""
    mode, idle_s, max_sessions, loopback, progress = sys.argv[2:7]
    try:
        _Reader(int(idle_s), int(max_sessions), loopback == "1", progress == "1").run(mode)
    except (BrokenPipeError, KeyboardInterrupt):  # the command stopped: nothing to say
        return 1
    return 0


class _Reader:
    def __init__(self, idle_s: int, max_sessions: int, loopback: bool, progress: bool) -> None:
        from gaze.ingest import Ingestor
        from gaze.sessions import SessionStore

        self.store = SessionStore(idle_s, max_sessions)
        self.ingestor = Ingestor(self.store, include_loopback=loopback)
        self.progress = progress
        self.read_bytes = 0
        self.last_progress = 0.0

    def read(self) -> bytes:
        chunk = os.read(0, CHUNK)
        self.read_bytes += len(chunk)
        return chunk

    def lines(self) -> Iterator[bytes]:
        rest = b""
        while chunk := self.read():
            lines = (rest + chunk).split(b"\n")
            rest = lines.pop()
            yield from lines
        if rest:
            yield rest

    def run(self, mode: str) -> None:
        from gaze.journal_export import export_entries
        from gaze.journalctl import JournalEntry, iter_text

        ingestor, pending = self.ingestor, self.ingestor.pending_records
        if mode == "export":
            for cursor, realtime_us, message in export_entries(self.read):
                try:
                    ingestor.add_export(cursor, realtime_us, message)
                except Exception as exc:
                    self.aside(JournalEntry(None, realtime_us, message.decode("utf-8", "replace")), exc)
                if len(pending) >= BATCH or self.progress:
                    pending = self.drain()
        elif mode == "text":
            for entry in iter_text(self.lines(), []):
                try:
                    ingestor.add(entry)
                except Exception as exc:
                    self.aside(entry, exc)
                if len(pending) >= BATCH or self.progress:
                    pending = self.drain()
        else:
            for line in self.lines():
                try:
                    ingestor.add_json_line(line)
                except Exception as exc:
                    self.aside(JournalEntry(None, None, line.decode("utf-8", "replace")), exc)
                if len(pending) >= BATCH or self.progress:
                    pending = self.drain()
        self.store.close_all()
        self.send_records()
        self.send((PROGRESS, (self.read_bytes, ingestor.counters.entries)))
        self.send((END, ingestor.counters))

    def drain(self) -> list[Any]:
        """Send the records closed so far when there are BATCH (and the progress when due); the list
        that gathers the next ones."""
        if len(self.ingestor.pending_records) >= BATCH:
            self.send_records()
        if self.progress and self.ingestor.counters.entries % 4096 == 0:
            now = time.monotonic()
            if now - self.last_progress >= 0.2:
                self.last_progress = now
                self.send((PROGRESS, (self.read_bytes, self.ingestor.counters.entries)))
        return self.ingestor.pending_records

    def send_records(self) -> None:
        records = self.ingestor.take()[0]
        self.send((RECORDS, [(r.ip, r.user, r.module, r.start_ms, r.end_ms, r.reason) for r in records]))

    def aside(self, entry: object, exc: Exception) -> None:
        try:
            pickle.dumps(exc)
        except Exception:  # sent as its type and words: the set-aside row keeps no more
            exc = RuntimeError(f"{type(exc).__name__}: {exc}")
        self.send((ASIDE, (entry, exc)))

    def send(self, message: Message) -> None:
        data = memoryview(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))
        while data:
            data = data[os.write(1, data) :]
