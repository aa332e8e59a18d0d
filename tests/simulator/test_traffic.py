"""gaze.simulator.traffic: seeded synthetic oc4d traffic."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import UTC, datetime
from itertools import pairwise
from urllib.parse import unquote, urlsplit

import pytest

from gaze.simulator import DEFAULT_START_MS, DEMO_CATALOG, Classroom, Line

BUILD_ID = re.compile(r"^\d{10,}_[A-Za-z0-9_-]+$")
ACCESS = re.compile(r'^info: (\S+) .*?\[([^\]]+)\] "([A-Z]+) (\S+) HTTP/1\.1" (\d{3})')
FILE_LIKE = re.compile(r"\.[a-z0-9]{1,10}$", re.IGNORECASE)


def _module_of(target: str) -> str | None:
    """DESIGN.md section 2, steps 2-3 (reference implementation for these tests only)."""
    path = urlsplit(target).path if "://" in target else target.split("#")[0].split("?")[0]
    if "/modules/" not in path:
        return None
    head, _, rest = path.partition("/modules/")
    segs = [unquote(s) for s in rest.split("/")]
    if head.endswith("/uploads"):
        if len(segs) >= 3:
            return segs[1] or None
        first = segs[0]
        return None if BUILD_ID.match(first) else first or None
    for seg in segs[:2]:
        if not seg or FILE_LIKE.search(seg):
            return None
        if not BUILD_ID.match(seg):
            return seg
    return None


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


@pytest.fixture(scope="module")
def day_lines() -> list[Line]:
    return list(Classroom(seed=7).day(40_000))


def test_same_seed_same_output() -> None:
    a = list(Classroom(seed=3).day(5_000))
    b = list(Classroom(seed=3).day(5_000))
    assert a == b
    c = list(Classroom(seed=4).day(5_000))
    assert a != c


def test_lines_until_and_day_share_one_simulation() -> None:
    whole = list(Classroom(seed=1).day(3_000))
    until = whole[2_000].time_ms
    room = Classroom(seed=1)
    assert room.lines_until(DEFAULT_START_MS - 1) == []
    part1 = room.lines_until(whole[1_000].time_ms)
    part2 = room.lines_until(until)
    assert all(line.time_ms <= whole[1_000].time_ms for line in part1)
    assert all(line.time_ms > whole[1_000].time_ms for line in part2)
    assert room.lines_until(until) == []  # nothing is produced twice
    assert part1 + part2 == [line for line in whole if line.time_ms <= until]
    # day() continues where lines_until stopped.
    rest = list(room.day(500))
    assert rest[0].time_ms > until
    assert part1 + part2 + rest == whole[: len(part1) + len(part2) + 500]


def test_day_yields_exactly_the_requested_count_in_time_order(day_lines: list[Line]) -> None:
    assert len(day_lines) == 40_000
    assert all(a.time_ms <= b.time_ms for a, b in pairwise(day_lines))
    assert day_lines[0].time_ms == DEFAULT_START_MS
    assert all(isinstance(line.message, str) and line.message for line in day_lines)


def test_start_ms_devices_and_users_are_honoured() -> None:
    start = 1_700_000_000_000
    users = ["x.one@school.test", "y.two@school.test"]
    lines = list(Classroom(seed=2, devices=8, start_ms=start, users=users).day(20_000))
    assert lines[0].time_ms == start
    ips = set()
    for line in lines:
        m = ACCESS.match(line.message)
        if m and m.group(1) not in ("127.0.0.1", "::ffff:127.0.0.1"):
            ips.add(m.group(1).removeprefix("::ffff:"))
    assert 1 <= len(ips) <= 8
    assert all(ip.startswith("192.168.") for ip in ips)
    seen_users = {u for line in lines for u in users if u in line.message or u.replace("@", "%40") in line.message}
    assert seen_users
    assert not any("example.org" in line.message for line in lines)


def test_bracketed_timestamp_equals_time_ms(day_lines: list[Line]) -> None:
    checked = 0
    for line in day_lines:
        m = ACCESS.match(line.message)
        if m:
            assert m.group(2) == _iso(line.time_ms), line
            checked += 1
    assert checked > 30_000


def test_catalog_shape() -> None:
    assert 12 <= len(DEMO_CATALOG) <= 20
    slugs = [m["slug"] for m in DEMO_CATALOG]
    assert len(set(slugs)) == len(slugs)
    for entry in DEMO_CATALOG:
        assert set(entry) == {"slug", "name", "description", "build"}
        assert BUILD_ID.match(entry["build"])
        assert entry["name"] and entry["description"]
    assert {"cdn_math", "en-wassce", "BookBridge", "CDN Module - Single Page - With Images"} <= set(slugs)


def test_module_paths_resolve_to_catalog_slugs(day_lines: list[Line]) -> None:
    slugs = {m["slug"] for m in DEMO_CATALOG}
    seen: set[str] = set()
    styles = defaultdict(int)
    for line in day_lines:
        m = ACCESS.match(line.message)
        if not m or "/modules/" not in m.group(4):
            continue
        target = m.group(4)
        module = _module_of(target)
        assert module in slugs, target
        seen.add(module)
        if target.startswith("/uploads/modules/"):
            styles["uploads"] += 1
        elif "/content/" in target:
            styles["content"] += 1
        else:
            styles["modules-build"] += 1
    assert len(seen) >= 12
    assert min(styles.values()) > 0 and len(styles) == 3
    assert any("CDN%20Module%20-%20Single%20Page%20-%20With%20Images" in line.message for line in day_lines)


def test_formats_and_noise_present(day_lines: list[Line]) -> None:
    msgs = [line.message for line in day_lines]

    def count(pattern: str) -> int:
        rx = re.compile(pattern)
        return sum(1 for msg in msgs if rx.search(msg))

    assert count(r'^info: ::ffff:192\.168\.\d+\.\d+ - \[[^\]]+\] "GET /\S* HTTP/1\.1" \d{3}($| \{)') > 1_000
    assert (
        count(
            r'^info: 192\.168\.\d+\.\d+ user=anonymous - \[[^\]]+\] "GET \S+ HTTP/1\.1" \d{3} '
            r'(\d+|-) "[^"]*" "Mozilla/5\.0 [^"]*"'
        )
        > 1_000
    )
    assert count(r"^info: 192\.168\.\S+ user=[^ ]+(@|%40)[^ ]+ - \[") > 100  # morgan identity
    assert count(r"user=[^ ]+%40") > 0  # percent-encoded morgan identity
    assert count(r'" \d{3} \{"email":"[^"]+@[^"]+"\}$') > 100  # classic + trailing JSON identity
    assert count(r'\{"timestamp":"') > 0
    assert count(r'"GET /_next/static/') > 0
    assert count(r'"GET /_next/image\?url=%2F') > 0
    assert count(r'"GET /api/health-check/prisma HTTP/1\.1" 200') > 100
    assert count(r"^info: (::ffff:)?127\.0\.0\.1 - ") > 100
    assert count(r'^info: (::ffff:)?127\.0\.0\.1 - .*"GET [^ ]*/modules/') > 0  # loopback module hit
    assert count(r'HTTP/1\.1" 304') > 1_000
    assert count(r'HTTP/1\.1" 404') > 100
    assert count(r'"HEAD ') > 10
    assert count(r'"POST /api/auth/callback/credentials') > 0
    assert count(r"^info: Server listening on port 80$") >= 1
    assert count(r"%20|%C3%A9") > 100  # percent-encoded asset names
    assert count(r'/index\.html HTTP/1\.1" (200|304)') > 500  # entry pages
    garbage = [msg for msg in msgs if not ACCESS.match(msg) and not msg.startswith("info: ")]
    assert garbage  # rare garbage
    assert len(garbage) < len(msgs) // 1_000


def _device_hits(lines: list[Line]) -> dict[str, list[tuple[int, str]]]:
    hits: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for line in lines:
        m = ACCESS.match(line.message)
        if m and m.group(3) == "GET" and "127.0.0.1" not in m.group(1):
            hits[m.group(1).removeprefix("::ffff:")].append((line.time_ms, line.message))
    return hits


def test_guest_first_then_sign_in(day_lines: list[Line]) -> None:
    signed = 0
    for ip, hits in _device_hits(day_lines).items():
        identified = [
            i for i, (_, msg) in enumerate(hits) if '{"email"' in msg or re.search(r"user=(?!anonymous )", msg)
        ]
        if identified:
            signed += 1
            first = identified[0]
            assert first > 0, ip  # a Guest before signing in
            assert all(
                ('{"email"' not in msg and "user=anonymous" in msg) or " user=" not in msg for _, msg in hits[:first]
            )
    assert signed >= 3


def test_thumbnail_fan_out_idle_gaps_and_module_switches(day_lines: list[Line]) -> None:
    fan_outs = idle_gaps = switches = 0
    for hits in _device_hits(day_lines).values():
        module_hits = [(t, _module_of(ACCESS.match(msg).group(4))) for t, msg in hits]  # type: ignore[union-attr]
        module_hits = [(t, mod) for t, mod in module_hits if mod]
        for i in range(len(module_hits)):
            t0 = module_hits[i][0]
            window = {mod for t, mod in module_hits[i : i + 20] if t - t0 <= 1_000}
            if len(window) >= 5:
                fan_outs += 1
        for (t0, _), (t1, _) in pairwise(module_hits):
            if t1 - t0 > 300_000:
                idle_gaps += 1
        entries = [msg for _, msg in hits if re.search(r"/index\.html HTTP", msg)]
        mods = [_module_of(ACCESS.match(msg).group(4)) for msg in entries]  # type: ignore[union-attr]
        switches += sum(1 for a, b in pairwise(mods) if a != b)
    assert fan_outs >= 10
    assert idle_gaps >= 10
    assert switches >= 20


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        Classroom(devices=0)
    with pytest.raises(ValueError):
        Classroom(catalog=[])


def test_small_custom_catalog() -> None:
    catalog = [{"slug": "only one", "name": "Only", "description": "", "build": "1700000000000_abc"}]
    lines = list(Classroom(seed=5, devices=2, catalog=catalog).day(2_000))
    modules = {_module_of(m.group(4)) for line in lines if (m := ACCESS.match(line.message))}
    assert modules <= {"only one", None}
    assert "only one" in modules


def _records(lines: list[Line]) -> int:
    from gaze.ingest import Ingestor
    from gaze.journal import JournalEntry
    from gaze.sessions import SessionStore

    store = SessionStore()
    ingestor = Ingestor(store)
    for line in lines:
        ingestor.add(JournalEntry(None, line.time_ms * 1000, line.message))
    store.close_all()
    return ingestor.counters.records


def test_short_visits_and_hops_make_a_session_dense_day() -> None:
    """bench/corpora.py's dense shape: a record at least every 12 entries; the default day is as it was."""
    default = list(Classroom(seed=0).day(20_000))
    dense = list(Classroom(seed=0, devices=300, dwell_s=(8, 40), hop=0.5).day(20_000))
    assert len(dense) / _records(dense) <= 12
    assert len(default) / _records(default) >= 50
    assert default == list(Classroom(seed=0, dwell_s=(45, 1200), hop=0.0).day(20_000))
