"""journalctl, the program we read oc4d's journal through — DESIGN §1: its command line for a
`JournalSource` (oc4d's unit, a journal directory or file), and its output: `decode_json_line` /
`decode_text_line` turn one line of `journalctl -o json` / `-o short-iso` output into a
`JournalEntry`; `iter_text` does it for a whole text stream (backfill). The live reader is
gaze/journal.py; `-o export` is gaze/journal_export.py."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from gaze.config import Settings

OUTPUT_FIELDS = "MESSAGE"  # journalctl adds __CURSOR and __REALTIME_TIMESTAMP itself


class JournalEntry(NamedTuple):  # a tuple: made once per journal line, so it must be cheap
    cursor: str | None
    realtime_us: int | None
    message: str

    @property
    def realtime_ms(self) -> int | None:
        return None if self.realtime_us is None else self.realtime_us // 1000


# an entry from its fields as one tuple: tuple.__new__ itself, without JournalEntry()'s Python-level __new__
new_entry: Callable[[type[JournalEntry], tuple[str | None, int | None, str]], JournalEntry] = tuple.__new__


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
    end = line.find(" ")
    head = line if end < 0 else line[:end]
    realtime_us = _head_us(head) if head[:4].isdigit() and "T" in head else None
    return new_entry(JournalEntry, (None, realtime_us, line))


@lru_cache(maxsize=1024)
def _head_us(head: str) -> int | None:
    """A short-iso time prefix in µs (None when it is not a time): the lines of one second share it."""
    try:
        return _datetime_us(datetime.fromisoformat(head))
    except ValueError:
        return None


def _datetime_us(when: datetime) -> int:
    if when.tzinfo is None:
        when = when.astimezone()
    return int(when.timestamp()) * 1_000_000 + when.microsecond


def iter_text(lines: Iterable[bytes], errors: list[str]) -> Iterator[JournalEntry]:
    """Entries of a short-iso text stream (bytes decoded as UTF-8 with replacement)."""
    for line in lines:
        text = line.decode("utf-8", errors="replace")
        if text and not text.isspace() and not text.startswith("-- "):  # "-- Boot …" / "-- No entries --"
            yield decode_text_line(text)


# ---------------------------------------------------------------- journalctl command line


@dataclass(frozen=True, slots=True)
class JournalSource:
    unit: str = "oc4d.service"
    directory: Path | None = None
    file: Path | None = None
    journalctl: str = "journalctl"

    @classmethod
    def from_settings(
        cls, settings: Settings, *, unit: str | None = None, directory: Path | None = None, file: Path | None = None
    ) -> JournalSource:
        """oc4d's journal as the settings name it (MODULEGAZE_JOURNAL_UNIT/_DIRECTORY/_FILE); a unit, a
        directory or a file given here (backfill's options) replace the settings' — a directory or a
        file given replaces both of the settings' places."""
        if directory is None and file is None:
            directory, file = settings.journal_directory, settings.journal_file
        return cls(unit=unit or settings.journal_unit, directory=directory, file=file)

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
