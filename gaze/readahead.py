"""The entries the live reader (gaze/journal.py) decoded ahead of its deliveries: while one batch is
being saved, the next is read and decoded, up to a limit, then reading waits (issue 21). It also
tells whether more output is on its way (`coming`): then a batch waits to be full."""

from __future__ import annotations

import asyncio
import time
from collections import deque

from gaze.journalctl import JournalEntry

EntryBatch = list[JournalEntry]


class ReadAhead:
    """The entries decoded ahead of the reader's deliveries, in order: lists of entries, None at
    the end of the output; `put` waits while `limit` entries are waiting already."""

    def __init__(self, limit: int, hold_s: float = 0.0) -> None:
        self.limit = limit
        self.count = 0  # entries waiting
        self._items: deque[EntryBatch | None] = deque()
        self._error: Exception | None = None
        self._changed = asyncio.Event()
        self.hold_s = hold_s
        self.streaming = False  # the last read came within hold_s of the one before: output is flowing
        self._put_at = 0.0

    async def put(self, entries: EntryBatch) -> None:
        now = time.monotonic()
        self.streaming, self._put_at = now - self._put_at < self.hold_s, now
        self._items.append(entries)
        self.count += len(entries)
        self._changed.set()
        await asyncio.sleep(0)  # the output may be there already: let the board in between two reads
        while self.count >= self.limit:
            self._changed.clear()
            await self._changed.wait()

    def put_end(self, error: Exception | None) -> None:
        self.streaming = False
        self._items.append(None)
        self._error = error
        self._changed.set()

    async def get(self) -> EntryBatch | None:
        """The next entries; None at the end (raises what reading the output raised)."""
        while not self._items:
            self._changed.clear()
            await self._changed.wait()
        entries = self._items.popleft()
        if entries is None:
            if self._error is not None:
                raise self._error
            return None
        self.count -= len(entries)
        self._changed.set()
        return entries

    async def coming(self) -> bool:
        """Are more entries here, or about to be? Yes when some are waiting; while the output is
        flowing (catching up: journalctl writes a few KiB at a time, each read came within `hold_s`
        of the one before), whether some arrive within `hold_s`; no otherwise: a live line after a
        quiet moment goes out at once."""
        if self._items:
            return True
        if not self.streaming:
            return False
        self._changed.clear()
        try:
            await asyncio.wait_for(self._changed.wait(), self.hold_s)
        except TimeoutError:
            return False
        return bool(self._items)
