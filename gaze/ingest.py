"""Journal entries → hits → sessions: the one path every source goes through (live, backfill, demo)."""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from gaze.journal_export import export_entry
from gaze.journalctl import JournalEntry, MalformedLine, decode_json_line
from gaze.logline import NO_MODULE, classify
from gaze.logs import format_access_line
from gaze.sessions import SessionRecord, SessionStore

NO_TIME = "no-time"  # a hit with neither a bracketed time nor a journal time
MALFORMED = "malformed"  # a line of journalctl output that is not an entry
# A MESSAGE journald emits as an array of byte values; the spacing differs between systemd versions.
_BYTES_MESSAGE = re.compile(rb'"MESSAGE"\s*:\s*\[')


@dataclass
class Counters:
    entries: int = 0
    hits: int = 0
    records: int = 0
    ignored: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, object]:
        return {"entries": self.entries, "hits": self.hits, "records": self.records, "ignored": dict(self.ignored)}


class Ingestor:
    """Feeds entries to a SessionStore and gathers what must be written: records and access lines.

    Every record the store closes (hits, wall-clock expiry, explicit closes, end of input) lands in
    `pending_records` through the store's listener, in the order the store closed them.
    """

    def __init__(
        self,
        store: SessionStore,
        *,
        include_loopback: bool = False,
        tee_access: bool = False,
        now_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
    ) -> None:
        self.store = store
        self._feed = store.feed
        self.include_loopback = include_loopback
        self.tee_access = tee_access
        # the access log's lines up to this journal time (epoch ms) are there already: another writer
        # teed them before we took over its log folder (gaze.takeover); None: tee every module line
        self.teed_until_ms: int | None = None
        self.now_ms = now_ms
        self.counters = Counters()
        self.pending_records: list[SessionRecord] = []
        self.pending_access: list[str] = []
        store.subscribe(self._closed)

    def _closed(self, records: list[SessionRecord]) -> None:
        self.counters.records += len(records)
        self.pending_records.extend(records)

    def add(self, entry: JournalEntry) -> None:
        _, realtime_us, message = entry  # one unpacking: the fields are read on the hot path
        counters = self.counters
        counters.entries += 1
        if self.tee_access and "/modules/" in message and self._not_teed_yet(entry):
            self.pending_access.append(format_access_line(self.now_ms(), message))
        hit = classify(message, self.include_loopback)
        if isinstance(hit, str):  # the reason the line gives no hit
            counters.ignored[hit] += 1
        elif realtime_us is not None:  # the usual case: one test, one call
            counters.hits += 1
            self._feed(hit, realtime_us // 1000)
        elif hit.time_ms is None:
            counters.ignored[NO_TIME] += 1
        else:
            counters.hits += 1
            self._feed(hit, None)

    def _not_teed_yet(self, entry: JournalEntry) -> bool:
        until = self.teed_until_ms
        return until is None or entry.realtime_us is None or entry.realtime_us // 1000 > until

    def add_json_line(self, line: bytes) -> None:
        """One line of `journalctl -o json`, skipping the JSON decode when it cannot hold a hit."""
        if b"/modules/" not in line and not _BYTES_MESSAGE.search(line):
            if line.strip():
                self.counters.entries += 1
                self.counters.ignored[NO_MODULE] += 1
            return
        try:
            entry = decode_json_line(line)
        except MalformedLine:
            self.counters.ignored[MALFORMED] += 1
            return
        self.add(entry)

    def add_export(self, cursor: bytes | None, realtime_us: int | None, message: bytes) -> None:
        """One entry of `journalctl -o export` (gaze.journal_export), decoded only when it can hold a hit."""
        if b"/modules/" not in message:
            self.counters.entries += 1
            self.counters.ignored[NO_MODULE] += 1
            return
        self.add(export_entry(cursor, realtime_us, message))

    def take(self) -> tuple[list[SessionRecord], list[str]]:
        records, access = self.pending_records, self.pending_access
        self.pending_records, self.pending_access = [], []
        return records, access
