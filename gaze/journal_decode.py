"""One line of journalctl's output as a journal entry — DESIGN §1: `decode_json_line` /
`decode_text_line` turn one line of `journalctl -o json` / `-o short-iso` output into a
`JournalEntry`; `iter_text` does it for a whole text stream (backfill). The live reader is
gaze/journal.py; `-o export` is gaze/journal_export.py."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import NamedTuple


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


def iter_text(lines: Iterable[bytes], errors: list[str]) -> Iterator[JournalEntry]:
    """Entries of a short-iso text stream (bytes decoded as UTF-8 with replacement)."""
    for line in lines:
        text = line.decode("utf-8", errors="replace")
        if text.strip() and not text.startswith("-- "):  # "-- Boot …" / "-- No entries --" markers
            yield decode_text_line(text)
