"""A journal replaced under the reader (new file set, new boot, clock behind): every entry not read yet
is read once, none twice — with real journal files (tests/journalkit.py)."""

from __future__ import annotations

import asyncio
import shutil
import time
from pathlib import Path

import pytest

from gaze.journal import JournalEntry, JournalReader, JournalSource, ReaderState
from gaze.status import reader_text
from tests import journalkit
from tests.conftest import require

pytestmark = pytest.mark.journal

OLD_BOOT = journalkit.DEFAULT_BOOT_ID
NEW_BOOT = "0123456789abcdef0123456789abcdef"
BASE_US = 1_780_000_000_000_000
STEP_US = 500_000  # two entries a second


@pytest.fixture(autouse=True)
def _journal_tools() -> None:
    require(journalkit.available(), "systemd-journal-remote and journalctl")


def _entries(tag: str, count: int, start_us: int, boot_id: str) -> list[bytes]:
    return [
        journalkit.export_entry(f"info: {tag} {n}", start_us + n * STEP_US, seqnum=n, boot_id=boot_id)
        for n in range(count)
    ]


async def _read(source: JournalSource, cursor: str | None, last: str, state: ReaderState) -> list[JournalEntry]:
    """Follow until the entry whose message is `last` arrives; every entry delivered, in order."""
    received: list[JournalEntry] = []

    async def collect(entries: list[JournalEntry]) -> None:
        received.extend(entries)

    reader = JournalReader(source, collect, cursor=cursor, state=state, batch_size=500)
    task = asyncio.create_task(reader.run())
    deadline = time.monotonic() + 30
    while not any(e.message == last for e in received[-500:]):
        assert time.monotonic() < deadline, f"timed out: {len(received)} entries read"
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)  # anything after the last one would be a double
    reader.stop()
    await asyncio.wait_for(task, 10)
    return received


@pytest.mark.parametrize("where", ["file", "directory"])
async def test_new_journal_with_clock_behind_is_read_whole_after_restart(tmp_path: Path, where: str) -> None:
    """The app stopped; the journal replaced by one of a new boot whose clock is 10 minutes behind the
    saved cursor (a Pi without a real-time clock, after a vacuum). Before: --after-cursor sought by
    time and 1,201 of the 3,001 new entries were never read, without a word."""
    folder = tmp_path / "journal"
    journal = folder / "oc4d.journal"
    journalkit.write_journal(journal, _entries("old", 3000, BASE_US, OLD_BOOT))
    source = JournalSource(file=journal) if where == "file" else JournalSource(directory=folder)
    first = await _read(source, None, "info: old 2999", ReaderState())
    assert [e.message for e in first] == [f"info: old {n}" for n in range(3000)]
    cursor = first[-1].cursor
    assert cursor is not None

    journal.unlink()
    behind_us = BASE_US + 2999 * STEP_US - 600_000_000
    journalkit.write_journal(journal, _entries("new", 3001, behind_us, NEW_BOOT))
    state = ReaderState()
    second = await _read(source, cursor, "info: new 3000", state)
    assert [e.message for e in second] == [f"info: new {n}" for n in range(3001)], "0 lost, 0 doubled"
    assert state.note.startswith("oc4d's log was replaced: read the new one from its first line (")
    assert state.cursor_gone is not None and state.cursor_gone["savedCursor"] == cursor
    assert state.cursor_gone["resumedAt"] == second[0].cursor
    state.set("following")  # as the status strip words it while following
    assert reader_text(state, True).endswith(f"; {state.note}")


async def test_old_copy_beside_a_new_file_set_reads_only_the_new_entries(tmp_path: Path) -> None:
    """The saved cursor's entry is gone but an older copy of its file set is still there (entries
    read before, same `s=`, lower `i=`) beside a new file set: only the new file set is read."""
    folder = tmp_path / "journal"
    journal = folder / "oc4d.journal"
    journalkit.write_journal(journal, _entries("old", 1000, BASE_US, OLD_BOOT))
    snapshot = tmp_path / "snapshot.journal"
    shutil.copyfile(journal, snapshot)  # the file set as it was after 1,000 entries
    journalkit.write_journal(journal, _entries("later", 500, BASE_US + 1000 * STEP_US, OLD_BOOT))
    source = JournalSource(directory=folder)
    first = await _read(source, None, "info: later 499", ReaderState())
    assert len(first) == 1500
    cursor = first[-1].cursor
    assert cursor is not None

    journal.unlink()  # the cursor's entry goes; the copy of its first 1,000 comes back
    shutil.copyfile(snapshot, folder / "old.journal")
    behind_us = BASE_US - 600_000_000
    journalkit.write_journal(folder / "new.journal", _entries("new", 2000, behind_us, NEW_BOOT))
    state = ReaderState()
    second = await _read(source, cursor, "info: new 1999", state)
    assert [e.message for e in second] == [f"info: new {n}" for n in range(2000)], "0 lost, 0 doubled"
    assert state.lines == 3000, "the copy's 1,000 entries were printed and left out"
    assert state.cursor_gone is not None and state.cursor_gone["resumedAt"] == second[0].cursor


async def test_present_cursor_resumes_after_it_as_before(tmp_path: Path) -> None:
    journal = tmp_path / "oc4d.journal"
    journalkit.write_journal(journal, _entries("old", 200, BASE_US, OLD_BOOT))
    first = await _read(JournalSource(file=journal), None, "info: old 199", ReaderState())
    cursor = first[99].cursor
    state = ReaderState()
    second = await _read(JournalSource(file=journal), cursor, "info: old 199", state)
    assert [e.message for e in second] == [f"info: old {n}" for n in range(100, 200)]
    assert state.note == "" and state.cursor_gone is None


async def test_a_file_replaced_while_followed_is_read(tmp_path: Path) -> None:
    """MODULEGAZE_JOURNAL_FILE removed and written anew while journalctl follows it: before, journalctl
    kept reading the removed file and nothing more was read while the status said "following"."""
    journal = tmp_path / "oc4d.journal"
    journalkit.write_journal(journal, _entries("old", 3000, BASE_US, OLD_BOOT))
    received: list[JournalEntry] = []

    async def collect(entries: list[JournalEntry]) -> None:
        received.extend(entries)

    state = ReaderState()
    reader = JournalReader(JournalSource(file=journal), collect, state=state, batch_size=500)
    task = asyncio.create_task(reader.run())

    async def until(message: str) -> None:
        deadline = time.monotonic() + 30
        while not any(e.message == message for e in received[-500:]):
            assert time.monotonic() < deadline, f"timed out: {len(received)} entries read"
            reader.check_file()  # what the runtime's one-second tick does
            await asyncio.sleep(0.05)

    try:
        await until("info: old 2999")
        assert not reader.check_file(), "the same file: nothing to do"
        journal.unlink()
        assert not reader.check_file(), "no new file yet: journalctl keeps reading the old one"
        journalkit.write_journal(journal, _entries("new", 3001, BASE_US - 600_000_000, NEW_BOOT))
        await until("info: new 3000")
        await asyncio.sleep(0.3)
    finally:
        reader.stop()
        await asyncio.wait_for(task, 10)
    expected = [f"info: old {n}" for n in range(3000)] + [f"info: new {n}" for n in range(3001)]
    assert [e.message for e in received] == expected, "0 lost, 0 doubled"
    assert state.note.startswith("oc4d's log was replaced")
