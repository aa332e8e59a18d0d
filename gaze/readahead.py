"""The entries the live reader (gaze/journal.py) decoded ahead of its deliveries: while one batch is
being saved, the next is read and decoded, up to a limit, then reading waits (issue 21)."""

from __future__ import annotations

import asyncio
from collections import deque

from gaze.journalctl import JournalEntry

EntryBatch = list[JournalEntry]


class ReadAhead:
    """The entries decoded ahead of the reader's deliveries, in order: lists of entries, None at
    the end of the output; `put` waits while `limit` entries are waiting already."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.count = 0  # entries waiting
        self._items: deque[EntryBatch | None] = deque()
        self._error: Exception | None = None
        self._changed = asyncio.Event()

    def empty(self) -> bool:
        return not self._items

    async def put(self, entries: EntryBatch) -> None:
        self._items.append(entries)
        self.count += len(entries)
        self._changed.set()
        await asyncio.sleep(0)  # the output may be there already: let the board in between two reads
        while self.count >= self.limit:
            self._changed.clear()
            await self._changed.wait()

    def put_end(self, error: Exception | None) -> None:
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
