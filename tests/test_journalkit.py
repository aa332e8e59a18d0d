"""tests.journalkit: real journal files written by systemd-journal-remote, read by journalctl."""

from __future__ import annotations

import os
import queue
import struct
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gaze.simulator import Classroom
from tests import journalkit
from tests.journalkit import export_entry, message_bytes, read_json, write_journal

T0 = 1_777_879_800_000_000  # µs


@pytest.fixture
def services() -> None:
    if not journalkit.available():
        if os.environ.get("MODULEGAZE_REQUIRE_SERVICES") == "1":
            pytest.fail("systemd-journal-remote/journalctl missing and MODULEGAZE_REQUIRE_SERVICES=1")
        pytest.skip("systemd-journal-remote or journalctl not installed")


# ---------------------------------------------------------------- export format (no services needed)


def test_export_entry_text_form() -> None:
    raw = export_entry("info: hello", T0, seqnum=7)
    assert raw.endswith(b"\nMESSAGE=info: hello\n\n")
    fields = dict(line.split(b"=", 1) for line in raw.rstrip(b"\n").split(b"\n"))
    assert fields[b"__REALTIME_TIMESTAMP"] == str(T0).encode()
    assert int(fields[b"__MONOTONIC_TIMESTAMP"]) > 0
    assert fields[b"_SYSTEMD_UNIT"] == b"oc4d.service"
    assert fields[b"_HOSTNAME"] == b"cdn"
    assert fields[b"_PID"] == b"2369"
    assert fields[b"_BOOT_ID"] == journalkit.DEFAULT_BOOT_ID.encode()
    assert fields[b"TEST_SEQNUM"] == b"7"


def test_export_entry_binary_safe_form() -> None:
    value = b"two\nlines \xff"
    raw = export_entry(value, T0)
    start = raw.index(b"MESSAGE\n") + len(b"MESSAGE\n")
    (length,) = struct.unpack("<Q", raw[start : start + 8])
    assert length == len(value)
    assert raw[start + 8 : start + 8 + length] == value
    assert raw[start + 8 + length :] == b"\n\n"


def test_export_entry_rejects_bad_field_names() -> None:
    with pytest.raises(ValueError):
        export_entry("x", T0, extra={"bad-name": "1"})


def test_write_journal_rejects_other_suffix(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        write_journal(tmp_path / "x.log", [export_entry("x", T0)])


# ---------------------------------------------------------------- real journals


def _messages(entries: list[dict]) -> list[bytes | None]:
    return [message_bytes(e) for e in entries]


@pytest.mark.journal
def test_build_and_read_back(services: None, tmp_path: Path) -> None:
    path = tmp_path / "j" / "oc4d.journal"
    big = "B" * (100 * 1024)
    write_journal(
        path,
        [
            export_entry("info: first", T0),
            export_entry("info: other unit", T0 + 1_000, unit="other.service"),
            export_entry(b"bin \xff\xfe x", T0 + 2_000),
            export_entry(big, T0 + 3_000),
            export_entry("line1\nline2", T0 + 4_000),
        ],
    )
    everything = read_json(path)
    assert _messages(everything) == [
        b"info: first",
        b"info: other unit",
        b"bin \xff\xfe x",
        big.encode(),
        b"line1\nline2",
    ]
    assert [int(e["__REALTIME_TIMESTAMP"]) for e in everything] == [T0 + i * 1_000 for i in range(5)]
    assert all(e["__CURSOR"] for e in everything)

    oc4d = read_json(path, "-u", "oc4d.service")
    assert len(oc4d) == 4
    assert {e["_SYSTEMD_UNIT"] for e in oc4d} == {"oc4d.service"}

    # Non-UTF-8 MESSAGE: an array of byte values.
    assert everything[2]["MESSAGE"] == list(b"bin \xff\xfe x")
    assert everything[4]["MESSAGE"] == "line1\nline2"
    # 100 KiB survives, but -o json without --all prints null for it.
    assert everything[3]["MESSAGE"] == big
    assert read_json(path, all_fields=False)[3]["MESSAGE"] is None


@pytest.mark.journal
def test_append_and_after_cursor(services: None, tmp_path: Path) -> None:
    path = tmp_path / "oc4d.journal"
    write_journal(path, [export_entry(f"info: a{i}", T0 + i, seqnum=i) for i in range(3)])
    write_journal(path, [export_entry(f"info: b{i}", T0 + 10 + i, seqnum=10 + i) for i in range(2)])
    entries = read_json(path)
    assert _messages(entries) == [b"info: a0", b"info: a1", b"info: a2", b"info: b0", b"info: b1"]
    assert [e["TEST_SEQNUM"] for e in entries] == ["0", "1", "2", "10", "11"]
    after = read_json(path, f"--after-cursor={entries[2]['__CURSOR']}")
    assert _messages(after) == [b"info: b0", b"info: b1"]


@pytest.mark.journal
def test_invalid_entry_is_reported(services: None, tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="wrote 0 of 1"):
        write_journal(tmp_path / "bad.journal", [b"MESSAGE=no timestamp\n\n"])


@pytest.mark.journal
def test_traffic_round_trip(services: None, tmp_path: Path) -> None:
    lines = list(Classroom(seed=11).day(3_000))
    path = tmp_path / "day.journal"
    write_journal(path, journalkit.entries_from_lines(lines))
    entries = read_json(path, "-u", "oc4d.service")
    assert _messages(entries) == [line.message.encode() for line in lines]
    assert [int(e["__REALTIME_TIMESTAMP"]) for e in entries] == [line.time_ms * 1000 for line in lines]


Follower = Callable[[list[str]], "queue.Queue[bytes]"]


@pytest.fixture
def follower() -> Iterator[Follower]:
    procs: list[subprocess.Popen[bytes]] = []

    def start(argv: list[str]) -> queue.Queue[bytes]:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        procs.append(proc)
        lines: queue.Queue[bytes] = queue.Queue()

        def pump() -> None:
            assert proc.stdout is not None
            for raw in proc.stdout:
                lines.put(raw)

        threading.Thread(target=pump, daemon=True).start()
        return lines

    yield start
    for proc in procs:
        proc.kill()
        proc.wait(timeout=10)


def _wait_for(lines: queue.Queue[bytes], needle: bytes, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        try:
            if needle in lines.get(timeout=left):
                return True
        except queue.Empty:
            return False
    return False


@pytest.mark.journal
@pytest.mark.parametrize("directory", [False, True], ids=["file", "directory"])
def test_follow_sees_appends(services: None, tmp_path: Path, follower: Follower, directory: bool) -> None:
    path = tmp_path / "live" / "oc4d.journal"
    write_journal(path, [export_entry("info: before", T0)])
    lines = follower(journalkit.follow_argv(path, unit="oc4d.service", directory=directory))
    assert _wait_for(lines, b"info: before")
    # Appended to the same file by a later journal-remote run.
    write_journal(path, [export_entry("info: appended", T0 + 1_000)])
    assert _wait_for(lines, b"info: appended")
    if directory:  # a new journal file in the followed directory is picked up too
        write_journal(path.parent / "more.journal", [export_entry("info: new file", T0 + 2_000)])
        assert _wait_for(lines, b"info: new file")


@pytest.mark.journal
def test_follow_after_cursor(services: None, tmp_path: Path, follower: Follower) -> None:
    path = tmp_path / "oc4d.journal"
    write_journal(path, [export_entry("info: old", T0), export_entry("info: seen", T0 + 1)])
    cursor = read_json(path)[0]["__CURSOR"]
    lines = follower(journalkit.follow_argv(path, after_cursor=cursor))
    assert _wait_for(lines, b"info: seen")
    write_journal(path, [export_entry("info: later", T0 + 2)])
    assert _wait_for(lines, b"info: later")


@pytest.mark.journal
def test_follow_bare_relative_file_name_fails_documented_fact(services: None, tmp_path: Path) -> None:
    """Pins the docstring pitfall: `journalctl --file NAME -f` with no directory part (systemd 252)."""
    write_journal(tmp_path / "oc4d.journal", [export_entry("info: x", T0)])
    ctl = journalkit.journalctl()
    assert ctl is not None
    try:
        done = subprocess.run(
            [ctl, "--file", "oc4d.journal", "-f", "-o", "json"], cwd=tmp_path, capture_output=True, timeout=5
        )
    except subprocess.TimeoutExpired:
        pytest.skip("this journalctl follows a bare relative --file; update the journalkit docstring")
    assert b"Failed to get journal fd" in done.stderr
    assert done.stdout == b""
    assert done.returncode == 0
