"""Journal entries → hits → sessions (gaze.ingest): the one path every source goes through — what is
counted, what is ignored and why, the records the store closes and the access lines to tee."""

from __future__ import annotations

import json

from gaze.ingest import MALFORMED, NO_TIME, Ingestor
from gaze.journalctl import JournalEntry
from gaze.logline import NO_MODULE
from gaze.sessions import SessionStore

T = 1_777_905_000_000  # 2026-05-04 14:30 UTC
ACCESS = '"GET /modules/{m}/index.html HTTP/1.1" 200'


def hit(ip: str, module: str, at_ms: int | None = None) -> str:
    when = "" if at_ms is None else "[2026-05-04T14:30:00.000Z] "
    return f"info: {ip} - {when}{ACCESS.format(m=module)}"


def test_hits_open_sessions_and_closed_ones_are_gathered() -> None:
    ingestor = Ingestor(SessionStore(idle_timeout_s=300))
    ingestor.add(JournalEntry("c1", T * 1000, hit("10.0.0.1", "cdn_math")))
    ingestor.add(JournalEntry("c2", (T + 60_000) * 1000, hit("10.0.0.1", "cdn_bio")))  # closes math
    ingestor.add(JournalEntry("c3", (T + 61_000) * 1000, "info: server started"))
    counters = ingestor.counters.as_dict()
    assert counters["entries"] == 3 and counters["hits"] == 2 and counters["records"] == 1
    ignored = counters["ignored"]
    assert isinstance(ignored, dict) and sum(ignored.values()) == 1
    records, access = ingestor.take()
    assert [(r.module, r.duration_s, r.reason) for r in records] == [("cdn_math", 60, "switch")]
    assert access == []  # no tee unless asked
    assert ingestor.take() == ([], [])  # taken once


def test_a_hit_without_any_time_is_ignored() -> None:
    ingestor = Ingestor(SessionStore())
    ingestor.add(JournalEntry(None, None, hit("10.0.0.1", "cdn_math")))
    assert ingestor.counters.ignored[NO_TIME] == 1 and ingestor.counters.hits == 0
    ingestor.add(JournalEntry(None, None, hit("10.0.0.1", "cdn_math", at_ms=T)))  # its own bracketed time
    assert ingestor.counters.hits == 1


def test_access_lines_are_teed_with_our_time() -> None:
    ingestor = Ingestor(SessionStore(), tee_access=True, now_ms=lambda: T)
    ingestor.add(JournalEntry(None, T * 1000, hit("10.0.0.1", "cdn_math")))
    ingestor.add(JournalEntry(None, T * 1000, "info: no module here"))
    assert ingestor.take()[1] == [f"2026-05-04T14:30:00.000Z\t{hit('10.0.0.1', 'cdn_math')}\n"]


def test_json_lines_without_a_module_are_counted_without_decoding() -> None:
    ingestor = Ingestor(SessionStore())
    ingestor.add_json_line(b'{"MESSAGE": "info: nothing here", "__REALTIME_TIMESTAMP": "1"}')
    ingestor.add_json_line(b"  \n")  # a blank line is not an entry
    ingestor.add_json_line(b'{"MESSAGE": "/modules/ broken')  # could hold a hit, but is not JSON
    line = json.dumps({"__CURSOR": "c", "__REALTIME_TIMESTAMP": str(T * 1000), "MESSAGE": hit("10.0.0.2", "cdn_art")})
    ingestor.add_json_line(line.encode())
    assert ingestor.counters.entries == 2 and ingestor.counters.hits == 1
    assert ingestor.counters.ignored == {NO_MODULE: 1, MALFORMED: 1}
    assert [s.module for s in ingestor.store.sessions()] == ["cdn_art"]


def test_export_entries_are_decoded_only_when_they_can_hold_a_hit() -> None:
    ingestor = Ingestor(SessionStore())
    ingestor.add_export(b"c1", T * 1000, b"info: nothing")
    ingestor.add_export(b"c2", T * 1000, hit("10.0.0.3", "cdn_geo").encode())
    assert ingestor.counters.entries == 2 and ingestor.counters.ignored[NO_MODULE] == 1
    assert [(s.ip, s.module) for s in ingestor.store.sessions()] == [("10.0.0.3", "cdn_geo")]
