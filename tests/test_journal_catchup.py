"""Catching up on a journal that is already written (issue 21): the reader decodes the next entries
while a batch is being saved and delivers full batches, so that a save's fixed cost is paid per
`batch_size` entries; a live line still goes out on its own, at once. Real journalctl, real files."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from gaze.journal import JournalEntry, JournalReader, JournalSource, ReaderState
from tests import journalkit
from tests.conftest import require

pytestmark = pytest.mark.journal

BASE_US = 1_780_000_000_000_000
ENTRIES = 3_000
BATCH = 500


async def _until(condition: Callable[[], bool], what: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


async def test_catch_up_is_decoded_ahead_and_delivered_in_full_batches(tmp_path: Path) -> None:
    require(journalkit.available(), "systemd-journal-remote and journalctl")
    journal = tmp_path / "oc4d.journal"
    journalkit.write_journal(
        journal,
        [
            journalkit.export_entry(f'info: 10.0.0.{n % 200} - "GET /modules/m/{n}.js HTTP/1.1" 200', BASE_US + n)
            for n in range(ENTRIES)
        ],
    )
    state = ReaderState()
    batches: list[list[JournalEntry]] = []
    more: list[bool] = []  # reader.more_coming at each delivery: the recorder may save a batch with the next

    async def save(entries: list[JournalEntry]) -> None:
        """A save that takes as long as the reader needs to decode a batch more (or the rest): before,
        the reader read nothing while a batch was saved, and every 64 KiB read was a batch."""
        batches.append(entries)
        more.append(reader.more_coming)
        delivered = sum(map(len, batches))
        await _until(lambda: state.lines >= min(ENTRIES, delivered + BATCH), "the next entries decoded ahead")

    reader = JournalReader(JournalSource(file=journal), save, state=state, batch_size=BATCH)
    task = asyncio.create_task(reader.run())
    try:
        await _until(lambda: sum(map(len, batches)) >= ENTRIES, "the catch-up")
        sizes = [len(b) for b in batches]
        assert sizes[1:-1] == [BATCH] * (len(sizes) - 2), sizes  # full, but for the first and the last
        assert len(batches) <= ENTRIES // BATCH + 1, sizes
        assert [e.message for b in batches for e in b] == [
            f'info: 10.0.0.{n % 200} - "GET /modules/m/{n}.js HTTP/1.1" 200' for n in range(ENTRIES)
        ]
        assert state.cursor == batches[-1][-1].cursor
        # a live line after the catch-up: delivered on its own, without waiting for a batch to fill
        journalkit.write_journal(journal, [journalkit.export_entry("info: live", BASE_US + ENTRIES)])
        await _until(lambda: len(batches) > len(sizes), "the live line")
        assert [e.message for e in batches[-1]] == ["info: live"]
        assert state.lines == ENTRIES + 1 and state.errors == 0
        # full batches said more output was waiting; the last of the catch-up and the live line did not
        assert more == [size == BATCH for size in sizes] + [False], (more, sizes)
        assert not reader.more_coming
    finally:
        reader.stop()
        await asyncio.wait_for(task, 10)


async def test_a_quick_save_still_gets_full_batches_while_the_output_is_waiting(tmp_path: Path) -> None:
    """A save quicker than journalctl's next write: before, the reader delivered whatever it had
    whenever its decoded entries ran out (a batch of 8 or 9 entries per read of journalctl's 4 KiB
    writes); now, while the output flows, a batch waits for the next read, and a live line after a
    quiet moment still goes out at once."""
    require(journalkit.available(), "systemd-journal-remote and journalctl")
    journal = tmp_path / "oc4d.journal"
    lines = [f'info: 10.0.0.{n % 200} - "GET /modules/m/{n}.js HTTP/1.1" 200 {"x" * 150}' for n in range(ENTRIES)]
    journalkit.write_journal(journal, [journalkit.export_entry(line, BASE_US + n) for n, line in enumerate(lines)])
    batches: list[list[JournalEntry]] = []

    async def save(entries: list[JournalEntry]) -> None:
        batches.append(entries)

    state = ReaderState()
    reader = JournalReader(JournalSource(file=journal), save, state=state, batch_size=BATCH)
    task = asyncio.create_task(reader.run())
    try:
        await _until(lambda: sum(map(len, batches)) >= ENTRIES, "the catch-up")
        sizes = [len(b) for b in batches]
        # full, but for the first, the last and (a loaded machine: a pause of journalctl's over 20 ms)
        # one or two cut short; before: ~350 batches of 8 or 9 entries
        assert len(batches) <= ENTRIES // BATCH + 3, sizes
        assert sizes.count(BATCH) >= ENTRIES // BATCH - 2, sizes
        assert [e.message for b in batches for e in b] == lines
        journalkit.write_journal(journal, [journalkit.export_entry("info: live", BASE_US + ENTRIES)])
        await _until(lambda: len(batches) > len(sizes), "the live line", timeout_s=5.0)
        assert [e.message for e in batches[-1]] == ["info: live"]
        assert state.lines == ENTRIES + 1 and state.cursor == batches[-1][-1].cursor
    finally:
        reader.stop()
        await asyncio.wait_for(task, 10)
