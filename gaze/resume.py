"""Resuming when the saved cursor's entry is no longer in the journal — DESIGN §1.

`journalctl --after-cursor=C` cannot tell that C's entry is gone (the journal was vacuumed, or
replaced by a new one after a reboot): it then seeks by time — by the realtime clock when the boot
id differs — and silently skips every newer entry stamped before C's time (a Pi without a
real-time clock starts its new journal minutes or hours "in the past"), plus one more: it always
steps over the entry it landed on (measured with journalctl 252).

So the reader first asks `journalctl --cursor=C -n 1` whether C's entry is still there. When it
is not, it reads the journal from its start and keeps every entry not read yet: a journal entry is
identified by its file set's sequence-number id (`s=`) and its sequence number (`i=`), so an entry
of another file set is new, and one of C's file set is new when its number is above C's.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from pathlib import Path

    from gaze.journal import ReaderState
    from gaze.journalctl import JournalEntry, JournalSource

log = logging.getLogger(__name__)

CHECK_TIMEOUT_S = 30.0
SIGNATURE = b"LPKSHHRH"  # a journal file's first bytes; its 128-bit file ID follows at byte 24
FILE_ID_END = 40


class EntryId(NamedTuple):
    seqnum_id: str
    seqnum: int


def entry_id(cursor: str | None) -> EntryId | None:
    """The `s=` and `i=` (hexadecimal) of a journal cursor; None when it has not both."""
    if not cursor:
        return None
    fields = dict(part.partition("=")[::2] for part in cursor.split(";"))
    try:
        return EntryId(fields["s"], int(fields["i"], 16)) if fields.get("s") else None
    except (KeyError, ValueError):
        return None


async def cursor_present(source: JournalSource, cursor: str) -> bool | None:
    """Is the cursor's entry in the journal? None when journalctl could not say (it then fails or
    answers the same way for the follow run, which reports it)."""
    wanted = entry_id(cursor)
    if wanted is None:
        return None
    args = [*source.args(follow=False), f"--cursor={cursor}", "-n", "1"]
    try:
        process = await asyncio.create_subprocess_exec(
            *args, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL
        )
    except OSError:
        return None
    try:
        out, _ = await asyncio.wait_for(process.communicate(), CHECK_TIMEOUT_S)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        return None
    if process.returncode != 0:
        return None
    first = out.split(b"\n", 1)[0].strip()
    if not first:
        return False  # nothing at or after the cursor's place: its entry is gone
    try:
        found = json.loads(first).get("__CURSOR")
    except (ValueError, AttributeError):
        return None
    return entry_id(found if isinstance(found, str) else None) == wanted


class ReadAgain:
    """After the saved cursor's entry went: tells entries read before it (its file set, numbers up
    to its own) from new ones, for the rest of the reader's life; says where reading went on."""

    def __init__(self, cursor: str, gone: EntryId) -> None:
        self.cursor = cursor
        self.gone = gone
        self.dropped = 0  # entries read before, left out
        self.first: JournalEntry | None = None  # the first entry kept
        self.last_seen: str | None = None  # cursor of the last entry journalctl printed, kept or not
        self.told = False  # the log and the status say where reading went on

    def keep(self, entry: JournalEntry) -> bool:
        if entry.cursor:
            self.last_seen = entry.cursor
        found = entry_id(entry.cursor)
        if found is not None and found.seqnum_id == self.gone.seqnum_id and found.seqnum <= self.gone.seqnum:
            self.dropped += 1
            return False
        if self.first is None:
            self.first = entry
        return True

    def note(self, at: float) -> str:
        """The status strip's words for where reading went on (plain words, local time)."""
        when = time.strftime("%H:%M", time.localtime(at))
        if self.first is None:
            return f"oc4d's log changed: every line in it had been read already; went on from its end ({when})"
        found = entry_id(self.first.cursor)
        if found is not None and found.seqnum_id == self.gone.seqnum_id:
            return f"oc4d's log was cleaned up past the last line read: went on from the next line still there ({when})"
        return f"oc4d's log was replaced: read the new one from its first line ({when})"

    def tell(self, state: ReaderState) -> None:
        """Say in the log, on the status strip (`state.note`) and in /healthz where reading went on."""
        self.told = True
        now = time.time()
        state.note, state.cursor_gone = self.note(now), self.health(now)
        log.warning(
            "went on from journal entry %s (%d entries had been read already): %s",
            self.first.cursor if self.first else "(none: all read already)",
            self.dropped,
            state.note,
        )
        state.set(state.status, state.detail, state.retry_at)

    def health(self, at: float) -> dict[str, object]:
        """The same for /healthz, in technical words."""
        return {
            "at": round(at, 3),
            "savedCursor": self.cursor,
            "resumedAt": self.first.cursor if self.first else None,
            "alreadyRead": self.dropped,
        }


def file_id(path: Path) -> tuple[int, int, bytes] | None:
    """The journal file at `path`, to tell a replaced one: device, inode and the file ID of its header
    (a new file may get the removed one's inode number); None when there is none yet."""
    try:
        with open(path, "rb") as f:
            found = os.fstat(f.fileno())
            header = f.read(FILE_ID_END)
    except OSError:
        return None
    if len(header) < FILE_ID_END or not header.startswith(SIGNATURE):
        return None  # not (yet) a journal file
    return found.st_dev, found.st_ino, header[FILE_ID_END - 16 :]
