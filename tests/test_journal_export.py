"""gaze.journal_export: `journalctl -o export` gives the entries `-o json` gives, whatever the
values hold and wherever the stream is cut into chunks."""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path

import pytest

from gaze.journal import JournalReader, ReaderState
from gaze.journal_export import ExportParser, export_entries
from gaze.journalctl import JournalEntry, JournalSource, decode_json_line
from tests import journalkit
from tests.conftest import require

T0 = 1_777_891_132_000_000

MESSAGES: list[str | bytes] = [
    'info: ::ffff:192.168.4.238 - [2026-05-04T10:38:52.545Z] "GET /modules/cdn_math/index.html HTTP/1.1" 200',
    "info: a line with a\nnewline in it /modules/x/index.html",  # binary form
    "two\n\nempty lines inside /modules/y/a.png\n\n",  # the entry separator inside a value
    "x" * 2569 + "\n",  # 2,570 bytes: its length field is 0a 0a 00 …, two newlines
    b"invalid \xff\xfe utf-8 /modules/z/index.html",  # not UTF-8: binary form, decoded with replacement
    "control \x01 and\ttab /modules/z/index.html",
    "MESSAGE=looks like a field /modules/z/index.html",
    "é ünïcödé /modules/ñ/index.html",
    "y" * 70_000,  # longer than journalctl -o json prints without --all
    "",
]


def _raw_entry(fields: list[tuple[str, bytes]], realtime_us: int) -> bytes:
    head = journalkit.export_entry("-", realtime_us)
    head = head[: head.rindex(b"MESSAGE=")]  # the usual fields, without a MESSAGE
    return head + b"".join(name.encode() + b"=" + value + b"\n" for name, value in fields) + b"\n"


@pytest.fixture(scope="module")
def journal(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require(journalkit.available(), "systemd-journal-remote and journalctl")
    path = tmp_path_factory.mktemp("export") / "oc4d.journal"
    entries = [journalkit.export_entry(m, T0 + i * 1000) for i, m in enumerate(MESSAGES)]
    entries.append(journalkit.export_entry("second", T0 + 50_000, extra={"MESSAGE": "first of two"}))
    entries.append(_raw_entry([("OTHER", b"no message at all")], T0 + 60_000))
    journalkit.write_journal(path, entries)
    return path


def _run(args: list[str]) -> bytes:
    return subprocess.run(args, check=True, capture_output=True, timeout=60).stdout


def _from_json(path: Path) -> list[JournalEntry]:
    out = _run(JournalSource(unit="oc4d.service", file=path).args(follow=False))
    return [decode_json_line(line) for line in out.splitlines() if line.strip()]


def _from_export(data: bytes, chunk: int) -> list[JournalEntry]:
    chunks = iter([data[i : i + chunk] for i in range(0, len(data), chunk)])
    return [
        JournalEntry(None if cursor is None else cursor.decode(), realtime, message.decode("utf-8", errors="replace"))
        for cursor, realtime, message in export_entries(lambda: next(chunks, b""))
    ]


@pytest.mark.parametrize("chunk", [1, 7, 4096, 1 << 20])
def test_export_gives_the_entries_json_gives(journal: Path, chunk: int) -> None:
    expected = _from_json(journal)
    data = _run(JournalSource(unit="oc4d.service", file=journal).args(follow=False, output="export"))
    assert b"\nMESSAGE\n" in data  # some values did come in binary form
    got = _from_export(data, chunk)
    assert len(expected) == len(MESSAGES) + 2
    assert got == expected
    assert [e.message for e in got[: len(MESSAGES)]] == [
        m if isinstance(m, str) else m.decode("utf-8", errors="replace") for m in MESSAGES
    ]
    assert got[-2].message == expected[-2].message  # the first of two MESSAGE fields, as JSON's
    assert got[-1].message == ""


def test_an_entry_cut_off_at_the_end_is_still_read() -> None:
    whole = (
        b"__CURSOR=s=1;i=1\n__REALTIME_TIMESTAMP=5\nMESSAGE=one\n\n__CURSOR=s=1;i=2\n__REALTIME_TIMESTAMP=6\nMESSAGE=tw"
    )
    chunks = iter([whole])
    got = list(export_entries(lambda: next(chunks, b"")))
    assert got == [(b"s=1;i=1", 5, b"one"), (b"s=1;i=2", 6, b"tw")]


def test_a_binary_value_cut_off_at_the_end_gives_what_there_is() -> None:
    whole = b"__CURSOR=s=1;i=1\n__REALTIME_TIMESTAMP=5\nMESSAGE\n" + (100).to_bytes(8, "little") + b"short"
    chunks = iter([whole])
    got = list(export_entries(lambda: next(chunks, b"")))
    assert len(got) == 1 and got[0][:2] == (b"s=1;i=1", 5)


async def test_the_live_reader_gives_the_entries_json_gives(journal: Path) -> None:
    """The live reader follows `journalctl -f -o export` (issue 21: a few times cheaper than JSON for
    journalctl and for us); what it delivers is what `-o json` gives, entry for entry."""
    expected = _from_json(journal)
    received: list[JournalEntry] = []

    async def collect(entries: list[JournalEntry]) -> None:
        received.extend(entries)

    state = ReaderState()
    reader = JournalReader(JournalSource(unit="oc4d.service", file=journal), collect, state=state, batch_size=3)
    task = asyncio.create_task(reader.run())
    try:
        deadline = time.monotonic() + 30
        while len(received) < len(expected):
            assert time.monotonic() < deadline, f"timed out: {len(received)} entries read"
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # anything more would be a double
    finally:
        reader.stop()
        await asyncio.wait_for(task, 10)
    assert received == expected
    assert state.lines == len(expected) and state.errors == 0 and state.cursor == expected[-1].cursor


@pytest.mark.parametrize("chunk", [1, 5, 64])
def test_a_dropped_entry_is_left_out_and_reading_goes_on_at_the_next(chunk: int) -> None:
    """What the live reader does with an entry over MAX_LINE: drop() what came of it so far."""
    long = b"__CURSOR=s=1;i=1\n__REALTIME_TIMESTAMP=5\nMESSAGE=" + b"x" * 100
    rest = b"x" * 50 + b"\n\n__CURSOR=s=1;i=2\n__REALTIME_TIMESTAMP=6\nMESSAGE=next\n\n"
    parser = ExportParser()
    assert parser.feed(long) == []
    parser.drop()
    got = [e for i in range(0, len(rest), chunk) for e in parser.feed(rest[i : i + chunk])]
    assert got == [(b"s=1;i=2", 6, b"next")] and parser.end() is None
