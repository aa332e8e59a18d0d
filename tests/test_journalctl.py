"""journalctl's output decoded into entries (`-o json`, `-o short-iso`) and the command line a
JournalSource gives it (DESIGN §1). The real journalctl reading real files: tests/test_journal.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gaze.config import load_settings
from gaze.journalctl import JournalEntry, JournalSource, MalformedLine, decode_json_line, decode_text_line, iter_text


def test_json_line_gives_cursor_time_and_message() -> None:
    line = json.dumps({"__CURSOR": "s=a;i=1", "__REALTIME_TIMESTAMP": "1780000000123456", "MESSAGE": "info: hi"})
    entry = decode_json_line(line.encode())
    assert entry == JournalEntry("s=a;i=1", 1_780_000_000_123_456, "info: hi")
    assert entry.realtime_ms == 1_780_000_000_123


def test_json_message_as_bytes_and_odd_fields() -> None:
    raw = json.dumps({"MESSAGE": [0x63, 0x61, 0x66, 0xC3, 0xA9, 0xFF], "__REALTIME_TIMESTAMP": "soon", "__CURSOR": 7})
    entry = decode_json_line(raw)
    assert entry == JournalEntry(None, None, "café\ufffd")  # invalid UTF-8 replaced, not an error
    assert entry.realtime_ms is None
    assert decode_json_line('{"MESSAGE": ["first", "second"]}').message == "first"
    assert decode_json_line('{"MESSAGE": null}').message == ""


@pytest.mark.parametrize(("line", "why"), [("not json", "not JSON"), ("[1, 2]", "not a JSON object")])
def test_malformed_json_lines_are_refused(line: str, why: str) -> None:
    with pytest.raises(MalformedLine, match=why):
        decode_json_line(line)


def test_text_line_with_and_without_a_time() -> None:
    stamped = decode_text_line("2026-05-04T14:30:00.250000+00:00 cdn oc4d[1]: info: x\n")
    assert stamped == JournalEntry(None, 1_777_905_000_250_000, "2026-05-04T14:30:00.250000+00:00 cdn oc4d[1]: info: x")
    assert decode_text_line("info: no time here") == JournalEntry(None, None, "info: no time here")
    assert decode_text_line("2026-99-99T00:00:00+00:00 x").realtime_us is None


def test_text_stream_skips_markers_and_blank_lines() -> None:
    lines = [
        b"-- Boot abc --\n",
        b"\n",
        b"2026-05-04T14:30:00+00:00 h oc4d[1]: one\n",
        b"two \xff\n",
        b"-- No entries --\n",
    ]
    entries = list(iter_text(lines, []))
    assert [e.message for e in entries] == ["2026-05-04T14:30:00+00:00 h oc4d[1]: one", "two \ufffd"]


def test_command_line_for_a_unit_following_from_a_cursor() -> None:
    args = JournalSource(unit="oc4d.service").args(follow=True, cursor="s=a;i=9", since="today")
    assert args == [
        "journalctl", "-o", "json", "--output-fields=MESSAGE", "--no-pager", "-q", "--all",
        "-u", "oc4d.service", "--after-cursor=s=a;i=9", "-f", "-n", "all",
    ]  # fmt: skip


def test_command_line_for_a_relative_file_in_export_format(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    args = JournalSource(unit="", file=Path("x.journal")).args(
        follow=False, since="2026-05-01", until="today", output="export"
    )
    assert "--all" not in args and "-u" not in args and "-f" not in args
    assert args[args.index("--file") + 1] == str(tmp_path / "x.journal")  # absolute (journalctl -f needs it)
    assert args[-2:] == ["--since=2026-05-01", "--until=today"]


@pytest.mark.usefixtures("clean_env")
def test_source_from_settings_and_backfill_options(tmp_path: Path) -> None:
    settings = load_settings(journal_unit="oc4d-test.service", journal_directory=tmp_path / "journal")
    assert JournalSource.from_settings(settings) == JournalSource("oc4d-test.service", tmp_path / "journal", None)
    given = JournalSource.from_settings(settings, unit="other.service", file=tmp_path / "a.journal")
    assert given == JournalSource("other.service", None, tmp_path / "a.journal")  # the settings' place is replaced
