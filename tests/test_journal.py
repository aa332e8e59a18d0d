"""The journal reader against real journalctl: big and binary messages, appends, a missing journalctl."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from gaze.journal import JournalEntry, JournalReader, JournalSource, ReaderState
from tests import journalkit
from tests.conftest import require


async def _until(condition: object, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_missing_journalctl_is_a_state_not_a_crash() -> None:
    state = ReaderState()
    reader = JournalReader(JournalSource(journalctl="/nonexistent/journalctl"), _discard, state=state)
    task = asyncio.create_task(reader.run())
    await _until(lambda: state.status == "missing")
    assert "not found" in state.detail and state.retry_at is not None
    reader.stop()
    await asyncio.wait_for(task, 5)
    assert state.status == "stopped"


async def _discard(entries: list[JournalEntry]) -> None:
    return None


@pytest.mark.journal
async def test_follows_big_binary_and_appended_messages(tmp_path: Path) -> None:
    require(journalkit.available(), "systemd-journal-remote and journalctl")
    journal = tmp_path / "oc4d.journal"
    big = 'info: 10.0.0.1 - "GET /modules/m/' + "x" * 100_000 + '.js HTTP/1.1" 200'
    binary = b'info: 10.0.0.2 - "GET /modules/m/index.html HTTP/1.1" 200 \xff\xfe'
    now_us = time.time_ns() // 1000
    journalkit.write_journal(
        journal,
        [
            journalkit.export_entry("info: first", now_us),
            journalkit.export_entry(big, now_us + 1),
            journalkit.export_entry(binary, now_us + 2),
            journalkit.export_entry("not ours", now_us + 3, unit="other.service"),
        ],
    )
    received: list[JournalEntry] = []

    async def collect(entries: list[JournalEntry]) -> None:
        received.extend(entries)

    state = ReaderState()
    reader = JournalReader(JournalSource(file=journal), collect, state=state, batch_size=2)
    task = asyncio.create_task(reader.run())
    await _until(lambda: len(received) >= 3)
    assert [e.message for e in received[:2]] == ["info: first", big]
    assert received[2].message == binary.decode("utf-8", errors="replace")
    assert all(e.cursor and e.realtime_us for e in received)
    journalkit.write_journal(journal, [journalkit.export_entry("info: appended", now_us + 10)])
    await _until(lambda: any(e.message == "info: appended" for e in received))
    assert state.status == "following" and state.lines == 4 and state.errors == 0
    assert state.cursor == received[-1].cursor
    reader.stop()
    await asyncio.wait_for(task, 10)
    assert len(received) == 4, "the other unit's entry is not ours"


@pytest.mark.journal
async def test_a_stop_before_journalctl_runs_still_stops(tmp_path: Path) -> None:
    """stop() while the reader is between journalctl runs (starting one, or checking a cursor) found no
    process to end: the -f journalctl started just after was followed for ever, and `main.py follow`
    never exited on SIGTERM (seen after a catch-up, in 2 of 3 full runs)."""
    require(journalkit.available(), "systemd-journal-remote and journalctl")
    journal = tmp_path / "oc4d.journal"
    journalkit.write_journal(journal, [journalkit.export_entry("sshd", 1_777_891_132_000_000, unit="ssh.service")])
    state = ReaderState()  # nothing of oc4d's in the journal: journalctl -f prints nothing, as after a catch-up
    reader = JournalReader(JournalSource(unit="oc4d.service", file=journal), _discard, state=state)
    task = asyncio.create_task(reader.run())
    await asyncio.sleep(0)  # run() is now starting journalctl: there is no process to end yet
    reader.stop()
    await asyncio.wait_for(task, 10)
    assert state.status == "stopped"
