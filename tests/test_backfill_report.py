"""What `python main.py backfill` tells the admin: the summary lines and the one-line progress display
(on a real pseudo-terminal; silent when the output is not a terminal)."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator

import pytest

from gaze.backfill_report import Progress, Summary
from gaze.sessions import SessionRecord


def test_summary_lines_count_what_was_read_written_and_ignored() -> None:
    summary = Summary(
        entries=12_000,
        hits=9_500,
        ignored={"not-a-module": 2_000, "no-time": 500},
        records=300,
        already_in_files=120,
        elapsed_s=2.0,
    )
    assert summary.lines() == [
        "entries read:     12,000",
        "module hits:      9,500",
        "ignored lines:    2,500 (no-time 500, not-a-module 2,000)",
        "records written:  180",
        "already in files: 120",
        "elapsed:          2.00 s",
        "entries/s:        6,000",
    ]


def test_summary_names_what_was_set_aside_and_where() -> None:
    summary = Summary(entries=0, hits=0, ignored={}, records=0, already_in_files=0, elapsed_s=0.0, database=False)
    record = SessionRecord("10.0.0.1", "anna", "cdn_math", 1000, 61_000, "idle")
    summary.set_aside.add_record(record, ValueError("out of range"))
    lines = summary.lines()
    assert "ignored lines:    0 (none)" in lines and "entries/s:        0" in lines
    aside = [line for line in lines if line.startswith("set aside:")]
    assert aside == ["set aside:        1 (no database: counted only; last: record: ValueError: out of range)"]


@pytest.fixture
def terminal() -> Iterator[tuple[io.TextIOWrapper, int]]:
    """A real pseudo-terminal: what Progress writes to the slave side is read from the master."""
    master, slave = os.openpty()
    stream = os.fdopen(slave, "w")
    try:
        yield stream, master
    finally:
        stream.close()
        os.close(master)


def test_progress_draws_a_bar_on_a_terminal(terminal: tuple[io.TextIOWrapper, int]) -> None:
    stream, master = terminal
    progress = Progress(stream, total_bytes=1000)
    progress.update(500, 42, force=True)
    progress.done()
    shown = os.read(master, 4096).decode()
    assert shown.startswith("\r[" + "#" * 15 + " " * 15 + "]  50.0%  42 entries")
    assert shown.rstrip("\r\n").endswith("/s")


def test_progress_without_a_size_counts_entries(terminal: tuple[io.TextIOWrapper, int]) -> None:
    stream, master = terminal
    Progress(stream, total_bytes=None).update(0, 1234, force=True)
    assert os.read(master, 4096).decode().startswith("\r1,234 entries  ")


def test_progress_is_silent_when_not_a_terminal() -> None:
    out = io.StringIO()
    progress = Progress(out, total_bytes=10)
    progress.update(5, 1, force=True)
    progress.done()
    assert out.getvalue() == ""
