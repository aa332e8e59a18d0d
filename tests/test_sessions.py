from __future__ import annotations

from typing import Any

import pytest

from gaze.logline import Hit, parse
from gaze.logs.format import format_session_line
from gaze.sessions import CAPACITY, SessionRecord, SessionStore
from tests.conformance_data import case_id, load

SESSIONS = load("sessions.jsonl")


def journal_ms(case: dict[str, Any]) -> list[int]:
    """Each line's journal time (the case's `journal_times`, epoch seconds) in milliseconds."""
    times = case["journal_times"]
    assert len(times) == len(case["lines"])
    return [int(t * 1000) for t in times]


def run(lines: list[str], times: list[int], store: SessionStore | None = None) -> list[str]:
    store = store or SessionStore()
    records: list[SessionRecord] = []
    for line, at in zip(lines, times, strict=True):
        hit = parse(line)
        if hit is not None:
            records += store.feed(hit, at)
    records += store.close_all()
    return [format_session_line(r.end_ms, r.user, r.ip, r.module, r.duration_s).rstrip("\n") for r in records]


@pytest.mark.parametrize("case", SESSIONS, ids=case_id)
def test_session_conformance(case: dict[str, Any]) -> None:
    assert run(case["lines"], journal_ms(case)) == case["records"]


@pytest.mark.parametrize("case", SESSIONS, ids=case_id)
def test_checkpoint_roundtrip_anywhere_gives_same_records(case: dict[str, Any]) -> None:
    lines, times = case["lines"], journal_ms(case)
    for cut in range(len(lines) + 1):
        first = SessionStore()
        out: list[SessionRecord] = []
        for line, at in zip(lines[:cut], times[:cut], strict=True):
            hit = parse(line)
            assert hit is not None
            out += first.feed(hit, at)
        resumed = SessionStore()
        resumed.load_state(first.to_state())
        rest = run(lines[cut:], times[cut:], resumed)
        head = [format_session_line(r.end_ms, r.user, r.ip, r.module, r.duration_s).rstrip("\n") for r in out]
        assert head + rest == case["records"], f"cut at {cut}"


def hit(ip: str, user: str, module: str, t_s: int, kind: str = "entry") -> Hit:
    return Hit(kind, ip, user, module, t_s * 1000)  # type: ignore[arg-type]


def test_clock_never_goes_backwards() -> None:
    store = SessionStore()
    store.feed(hit("10.0.0.1", "a", "m", 100), None)
    store.feed(hit("10.0.0.1", "a", "m", 50, "asset"), 0)  # clock jump back: counts as t=100
    store.feed(hit("10.0.0.1", "a", "m", 130, "asset"), None)
    [record] = store.close_all()
    assert (record.start_ms, record.end_ms, record.duration_s) == (100_000, 130_000, 30)


def test_journal_time_used_without_bracketed_time() -> None:
    store = SessionStore()
    store.feed(Hit("entry", "10.0.0.1", "a", "m", None), 5_000)
    store.feed(Hit("asset", "10.0.0.1", "a", "m", None), 9_000)
    [record] = store.close_all()
    assert record.duration_s == 4


def test_capacity_drops_oldest_idle_and_records_it() -> None:
    store = SessionStore(max_sessions=3)
    for i in range(5):
        store.feed(hit(f"10.0.0.{i}", "Guest", "m", 10 * i), None)
        store.feed(hit(f"10.0.0.{i}", "Guest", "m", 10 * i + 5, "asset"), None)
    assert len(store) == 3 and store.dropped == 2
    assert {s.ip for s in store.sessions()} == {"10.0.0.2", "10.0.0.3", "10.0.0.4"}
    dropped = [r for r in store.close_all() if r.reason == CAPACITY]
    assert dropped == []  # already recorded when dropped, not again at the end


def test_capacity_records_are_returned_when_dropped() -> None:
    store = SessionStore(max_sessions=1)
    store.feed(hit("10.0.0.1", "Guest", "m", 0), None)
    store.feed(hit("10.0.0.1", "Guest", "m", 7, "asset"), None)
    [record] = store.feed(hit("10.0.0.2", "Guest", "m", 8), None)
    assert (record.ip, record.reason, record.duration_s) == ("10.0.0.1", CAPACITY, 7)


def test_flood_of_distinct_pairs_stays_bounded() -> None:
    store = SessionStore(max_sessions=1000)
    for i in range(50_000):
        store.feed(hit(f"10.{i // 65536}.{i // 256 % 256}.{i % 256}", "Guest", "m", i // 100), None)
    assert len(store) == 1000 and store.dropped == 49_000


def test_wall_clock_expiry_and_explicit_close() -> None:
    store = SessionStore(idle_timeout_s=300)
    store.feed(hit("10.0.0.1", "a", "m", 0), None)
    store.feed(hit("10.0.0.1", "a", "m", 20, "asset"), None)
    store.feed(hit("10.0.0.2", "b", "n", 100), None)
    store.feed(hit("10.0.0.2", "b", "n", 110, "asset"), None)
    assert store.expire(319_999) == []
    [record] = store.expire(320_000)
    assert (record.ip, record.end_ms) == ("10.0.0.1", 20_000)
    assert store.close("10.0.0.2", "b", "other", 120_000) == []
    [closed] = store.close("10.0.0.2", "b", "n", 120_000)
    assert closed.duration_s == 20 and len(store) == 0


def test_changes_and_listeners() -> None:
    store = SessionStore(track_changes=True)
    seen: list[SessionRecord] = []
    store.subscribe(seen.extend)
    store.feed(hit("10.0.0.1", "a", "m", 0), None)
    changes = store.drain_changes()
    assert list(changes) == [("10.0.0.1", "a")] and changes[("10.0.0.1", "a")] is not None
    store.feed(hit("10.0.0.1", "a", "n", 10), None)
    assert seen and seen[0].module == "m"
    assert store.drain_changes()[("10.0.0.1", "a")].module == "n"  # type: ignore[union-attr]


def test_a_pi_booted_with_a_wrong_date_does_not_pin_the_clock() -> None:
    """Journal and bracketed times both far in the future (no real-time clock), then corrected:
    the sessions after the correction are recorded with their real durations."""
    store = SessionStore()
    future = 2_208_988_800  # 2040-01-01
    records = store.feed(hit("10.0.0.1", "a", "m", future), future * 1000)
    records += store.feed(hit("10.0.0.1", "a", "m", future + 30, "asset"), (future + 30) * 1000)
    now = 1_777_905_000  # the clock is corrected: 2026-05-04
    for t in (now, now + 45):
        records += store.feed(hit("10.0.0.2", "b", "n", t, "entry" if t == now else "asset"), t * 1000)
    records += store.close_all()
    assert [(r.ip, r.duration_s, r.reason) for r in records] == [
        ("10.0.0.1", 30, "clock"),
        ("10.0.0.2", 45, "end"),
    ]
    assert store.clock_ms == (now + 45) * 1000


def test_a_far_future_bracketed_time_is_replaced_by_the_journal_time() -> None:
    store = SessionStore()
    store.feed(hit("10.0.0.1", "a", "m", 1000), 1_000_000)
    store.feed(hit("10.0.0.1", "a", "m", 9_999_999_999, "asset"), 1_020_000)  # bracket says year 2286
    assert store.clock_ms == 1_020_000
    store.feed(hit("10.0.0.1", "a", "m", 1040, "asset"), 1_040_000)
    [record] = store.close_all()
    assert record.duration_s == 40


@pytest.mark.parametrize(("shape", "max_sessions"), [("dense", 20_000), ("dense", 40), ("default", 20_000)])
def test_saved_open_sessions_equal_a_full_rebuild_after_every_batch(shape: str, max_sessions: int) -> None:
    """Differential: the recorder saves `open_json()` (only changed sessions re-encoded) with every
    batch; after each batch of a bench corpus — with pings, closes, idle expiry and a restore from
    the saved state in between — it must be exactly what a full rebuild (`to_state`) encodes."""
    import json
    import random

    from bench.corpora import SHAPES
    from gaze.checkpoint import state_text
    from gaze.ingest import Ingestor
    from gaze.journalctl import JournalEntry

    rng = random.Random(21)
    store = SessionStore(max_sessions=max_sessions, track_changes=True)
    ingestor = Ingestor(store)
    lines = list(SHAPES[shape](7).day(6_000))
    at = 0
    while at < len(lines):
        batch = lines[at : at + rng.randint(1, 60)]
        at += len(batch)
        for line in batch:
            ingestor.add(JournalEntry(None, line.time_ms * 1000, line.message))
        now = batch[-1].time_ms
        sessions = store.sessions()
        if sessions and rng.random() < 0.3:  # a module page's ping or close (the heartbeat route)
            s = rng.choice(sessions)
            store.ping(s.ip, s.user, s.module, now) if rng.random() < 0.5 else store.close(s.ip, s.user, None, now)
        if rng.random() < 0.1:
            store.expire(now + rng.randint(0, 400_000))
        saved = state_text(store.state_fields(), store.open_json())
        full = store.to_state()
        assert json.loads(saved) == full
        assert store.open_json() == json.dumps(full["open"], separators=(",", ":"))  # nothing changed: the same
        assert len(store._encoded) == len(store)  # an ended session's text is not kept
        if rng.random() < 0.05:  # a restart from what was saved
            store.load_state(json.loads(saved))
    assert len(store) > 0


def test_a_record_is_a_fixed_value() -> None:
    store = SessionStore()
    store.feed(Hit("entry", "10.0.0.1", "Guest", "cdn_math", 1_000), 1_000)
    store.feed(Hit("asset", "10.0.0.1", "Guest", "cdn_math", 61_500), 61_500)
    [record] = store.close_all()
    assert record == SessionRecord("10.0.0.1", "Guest", "cdn_math", 1_000, 61_500, "end")
    assert (record.module, record.start_ms, record.end_ms, record.duration_s) == ("cdn_math", 1_000, 61_500, 60)
    assert len({record, SessionRecord("10.0.0.1", "Guest", "cdn_math", 1_000, 61_500, "end")}) == 1
    with pytest.raises(AttributeError):
        record.end_ms = 0  # type: ignore[misc]


def test_idle_sessions_close_after_the_clock_is_set_back_or_set() -> None:
    store = SessionStore(idle_timeout_s=300)
    store.feed(hit("10.0.0.1", "a", "m", 10_000), None)
    store.feed(hit("10.0.0.1", "a", "m", 10_010, "asset"), None)
    [first] = store.feed(hit("10.0.0.2", "b", "m", 10_400), None)  # 10.0.0.1 idle since 10_010
    assert (first.ip, first.reason, first.duration_s) == ("10.0.0.1", "idle", 10)
    store.feed(hit("10.0.0.2", "b", "m", 10_402, "asset"), None)
    [second] = store.feed(hit("10.0.0.3", "c", "m", 5_000), None)  # the clock was set back
    assert (second.ip, second.reason) == ("10.0.0.2", "clock")
    store.feed(hit("10.0.0.3", "c", "m", 5_005, "asset"), None)
    [third] = store.feed(hit("10.0.0.4", "d", "m", 5_305), None)  # idle from the restarted clock on
    assert (third.ip, third.reason, third.duration_s) == ("10.0.0.3", "idle", 5)
    store.feed(hit("10.0.0.4", "d", "m", 5_310, "asset"), None)
    [fourth] = store.feed(hit("10.0.0.5", "e", "m", 5_611), None)
    assert (fourth.ip, fourth.reason, fourth.duration_s) == ("10.0.0.4", "idle", 5)
    store.feed(hit("10.0.0.5", "e", "m", 5_620, "asset"), None)
    store.clock_ms = 4_000_000  # set from outside, before the last request of an open session
    store.feed(hit("10.0.0.5", "e", "m", 4_100, "asset"), None)  # its last request is earlier now
    store.feed(hit("10.0.0.6", "f", "m", 4_399), None)
    assert store.get("10.0.0.5", "e") is not None
    store.feed(hit("10.0.0.6", "f", "m", 4_400, "asset"), None)
    assert store.get("10.0.0.5", "e") is None  # idle since 4_100, as the clock reads now
