"""gaze.history on real SQLite files and the real PostgreSQL server: records from the live run and
backfill through the one insert path, roll-ups against the raw records, local-time ranges across DST,
the History queries, CSV (the insert path itself: tests/test_records.py; device labels:
tests/test_devices.py)."""

from __future__ import annotations

import csv
import io
import itertools
import random
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from gaze import history
from gaze.db import (
    BACKFILL,
    IMPORT,
    LIVE,
    MIGRATIONS,
    DuplicateRow,
    RecordRow,
    UsageDaily,
    UsageDim,
    UsageHourly,
    make_engine,
    migrate,
)
from gaze.export import CSV_HEADER, csv_rows
from gaze.history import Filters, Range
from gaze.history_filters import Match
from gaze.recorder import Recorder
from gaze.records import add_records, rebuild_rollups
from gaze.sessions import SessionRecord
from tests.conftest import timezone
from tests.recorderkit import SCENE, SCENE_ROWS, SESSIONS_LOG, expected_log, make_settings

MIN = 60_000
HOUR = 3_600_000
IPS = ["192.168.1.10", "192.168.1.11", "192.168.1.12", "fe80::1"]
USERS = ["Guest", "Guest", "ama", "kofi"]
MODULES = ["cdn_math", "cdn_bio", "wassce-english", "health"]


# ---------------------------------------------------------------- fixtures


def at(zone: ZoneInfo, *args: int) -> int:
    return int(datetime(*args, tzinfo=zone).timestamp() * 1000)  # type: ignore[misc]


def rec(end_ms: int, seconds: int, ip: str = IPS[0], user: str = "Guest", module: str = "cdn_math") -> SessionRecord:
    return SessionRecord(ip, user, module, end_ms - seconds * 1000, end_ms, "idle")


def insert(engine: Engine, records: list[SessionRecord], source: str) -> int:
    with Session(engine) as db, db.begin():
        return add_records(db, records, source)


def random_records(rng: random.Random, start_ms: int, span_ms: int, n: int) -> list[SessionRecord]:
    out = []
    for _ in range(n):
        end = start_ms + rng.randrange(span_ms) // 1000 * 1000 + rng.choice([0, 0, 250])
        seconds = rng.choice([rng.randint(1, 600), rng.randint(600, 3 * 3600), rng.randint(1, 59)])
        out.append(rec(end, seconds, rng.choice(IPS), rng.choice(USERS), rng.choice(MODULES)))
    return out


# ---------------------------------------------------------------- an independent model


def counted(records: list[SessionRecord]) -> list[SessionRecord]:
    """One record per identity (end, user, ip, module, duration)."""
    seen: dict[tuple[int, str, str, str, int], SessionRecord] = {}
    for r in records:
        seen.setdefault((r.end_ms, r.user, r.ip, r.module, r.duration_s), r)
    return list(seen.values())


def holds(value: str, wanted: str | Match | None) -> bool:
    if wanted is None or isinstance(wanted, str):
        return wanted in (None, value)
    return wanted.part.lower() in value.lower() or value in wanted.also


def matches(r: SessionRecord, rng: Range, f: Filters) -> bool:
    return (
        rng.start_ms <= r.end_ms < rng.end_ms
        and f.module in (None, r.module)
        and holds(r.ip, f.ip)
        and holds(r.user, f.user)
    )


def model_hours(records: list[SessionRecord], zone: ZoneInfo) -> list[float]:
    """Minutes per local hour with zoneinfo, a quarter hour (UTC) at a time: not the code under test."""
    ms = [0] * 24
    q = 900_000
    for r in records:
        start, end = r.end_ms - r.duration_s * 1000, r.end_ms
        t = start
        while t < end:
            piece_end = min((t // q + 1) * q, end)
            ms[datetime.fromtimestamp(t // q * q / 1000, zone).hour] += piece_end - t
            t = piece_end
    return [v / MIN for v in ms]


def model_totals(records: list[SessionRecord]) -> history.Totals:
    return history.Totals(
        sum(r.duration_s for r in records),
        len(records),
        len({r.ip for r in records}),
        len({r.user for r in records if r.user != "Guest"}),
    )


def close(a: list[float], b: list[float]) -> bool:
    return len(a) == len(b) and all(abs(x - y) < 1e-6 for x, y in zip(a, b, strict=True))


# ---------------------------------------------------------------- insert path


async def test_monitor_and_backfill_go_through_add_records(engine: Engine, db_url: str, tmp_path: Path) -> None:
    """The live log writer still writes every live row once, even when backfill stored them first."""
    scene = [SessionRecord(r[3], r[2], r[4], r[0], r[1], r[6]) for r in SCENE_ROWS]
    assert insert(engine, scene, BACKFILL) == len(scene)
    settings = make_settings(tmp_path, database_url=db_url)
    monitor = Recorder(settings, engine)
    monitor.restore()
    await monitor.record(SCENE)
    assert (settings.log_dir / SESSIONS_LOG).read_text() == expected_log(SCENE_ROWS)
    wide = history.Range(0, 2**62, "all")
    assert history.totals(engine, wide).sessions == len(scene)
    assert {i.source for i in history.sessions_page(engine, wide)[0]} == {LIVE}


@pytest.mark.parametrize("zone", ["America/New_York", "Europe/London", "Asia/Kathmandu"])
def test_rollups_equal_raw_aggregates_on_random_data(engine: Engine, zone: str) -> None:
    with timezone(zone):
        tz = ZoneInfo(zone)
        rng = random.Random(zone)
        start = at(tz, 2025, 10, 30)  # across the autumn change (Europe Oct 26 is before; US Nov 2)
        records = random_records(rng, start, 8 * 24 * HOUR, 700)
        records += random_records(rng, at(tz, 2026, 3, 7), 4 * 24 * HOUR, 300)  # US spring change Mar 8
        records += random_records(rng, at(tz, 2026, 3, 28), 3 * 24 * HOUR, 200)  # EU spring change Mar 29
        records += [rec(at(tz, 2025, 11, 2, 0, 0), 3 * 3600, IPS[1], "ama", "health")]  # ends at midnight
        sources = [BACKFILL, IMPORT, LIVE]
        pool = records + rng.sample(records, 150)  # repeats across batches and sources
        rng.shuffle(pool)
        for i in range(0, len(pool), 97):
            insert(engine, pool[i : i + 97], rng.choice(sources))
        expected = counted(records)
        with engine.connect() as conn:
            raw = conn.execute(
                text(
                    "SELECT count(*), sum(duration_s) FROM session_record r "
                    "WHERE NOT EXISTS (SELECT 1 FROM session_duplicate d WHERE d.record_id = r.id)"
                )
            ).one()
            daily = conn.execute(select(func.sum(UsageDaily.sessions), func.sum(UsageDaily.seconds))).one()
            hourly_ms = conn.execute(select(func.sum(UsageHourly.ms))).scalar_one()
        assert (raw[0], raw[1]) == (len(expected), sum(r.duration_s for r in expected)) == tuple(daily)
        assert hourly_ms == sum(r.duration_s for r in expected) * 1000

        ranges = [
            history.custom(date(2025, 10, 30) + timedelta(days=d), date(2025, 10, 30) + timedelta(days=d))
            for d in range(9)
        ]
        ranges += [
            history.custom(date(2025, 10, 29), date(2025, 11, 8)),
            history.last_days(7, now=datetime(2026, 3, 10, 12, tzinfo=tz)),
            history.this_month(now=datetime(2026, 3, 31, 23, 59, tzinfo=tz)),
            history.this_year(now=datetime(2025, 12, 1, tzinfo=tz)),
        ]
        filters = [
            Filters(),
            Filters(module="health"),
            Filters(ip=IPS[3]),
            Filters(user="Guest"),
            Filters("cdn_bio", IPS[0], "ama"),
            Filters(module="cdn_math", user="Guest"),
            Filters(ip=Match("192.168.1.1")),  # part of an address: three of the four devices
            Filters(ip=Match("FE80", ("192.168.1.12",))),  # any case, or a device named so
            Filters(user=Match("GUE")),
            Filters("health", Match(".11"), Match("a")),
        ]
        for r in ranges:
            assert r.days() is not None
            for f in filters:
                want = [x for x in expected if matches(x, r, f)]
                assert (
                    history.totals(engine, r, f)
                    == model_totals(want)
                    == history.totals(engine, r, f, from_records=True)
                )
                by_module = history.minutes_by_module(engine, r, f, top=3)
                assert by_module == history.minutes_by_module(engine, r, f, top=3, from_records=True)
                sums: dict[str, int] = {}
                for x in want:
                    sums[x.module] = sums.get(x.module, 0) + x.duration_s
                assert by_module == [(m, s / 60) for m, s in sorted(sums.items(), key=lambda kv: (-kv[1], kv[0]))[:3]]
                hours = history.activity_by_hour(engine, r, f)
                assert close(hours, model_hours(want, tz)), (r, f)
                assert close(hours, history.activity_by_hour(engine, r, f, from_records=True))
        # the roll-ups rebuilt from scratch (the migration's data step) are the same
        with engine.connect() as conn:
            before = sorted(map(tuple, conn.execute(select(UsageDaily.__table__)).all()))
            hourly = sorted(map(tuple, conn.execute(select(UsageHourly.__table__)).all()))
            dims = sorted(map(tuple, conn.execute(select(UsageDim.__table__)).all()))
            marks = sorted(conn.execute(select(DuplicateRow.record_id)).scalars())
        with engine.begin() as conn:
            stored = conn.execute(select(func.count()).select_from(RecordRow)).scalar_one()
            assert len(expected) < stored < len(pool)  # live repeats are stored, the others are not
            assert rebuild_rollups(conn, batch=50) == stored
        with engine.connect() as conn:
            assert sorted(map(tuple, conn.execute(select(UsageDaily.__table__)).all())) == before
            assert sorted(map(tuple, conn.execute(select(UsageHourly.__table__)).all())) == hourly
            assert sorted(map(tuple, conn.execute(select(UsageDim.__table__)).all())) == dims
            assert sorted(conn.execute(select(DuplicateRow.record_id)).scalars()) == marks


def test_hours_split_at_local_hour_boundaries_across_dst(engine: Engine, new_york: ZoneInfo) -> None:
    # 2025-11-02: 01:00–02:00 happens twice in New York; a session 00:30 EDT → 02:30 EST is 3 h long
    end = at(new_york, 2025, 11, 2, 2, 30)
    start = at(new_york, 2025, 11, 2, 0, 30)
    assert end - start == 3 * HOUR
    insert(engine, [rec(end, 3 * 3600)], IMPORT)
    day = history.custom(date(2025, 11, 2), date(2025, 11, 2))
    assert day.end_ms - day.start_ms == 25 * HOUR
    hours = history.activity_by_hour(engine, day)
    assert hours[:4] == [30.0, 120.0, 30.0, 0.0]
    # 2026-03-08: 02:00–03:00 does not exist; 01:30 EST → 03:30 EDT is one hour
    end = at(new_york, 2026, 3, 8, 3, 30)
    insert(engine, [rec(end, 3600, IPS[1])], IMPORT)
    day = history.custom(date(2026, 3, 8), date(2026, 3, 8))
    assert day.end_ms - day.start_ms == 23 * HOUR
    assert history.activity_by_hour(engine, day, Filters(ip=IPS[1]))[:4] == [0.0, 30.0, 0.0, 30.0]


def _rollup_tables(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    with engine.connect() as conn:
        return {
            name: sorted(tuple(row) for row in conn.execute(text(f"SELECT * FROM {name}")))
            for name in ("usage_daily", "usage_dim", "usage_hourly", "session_duplicate")
        }


def test_migration_fills_rollups_from_existing_rows(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "0003")
        base = 1_800_000_000_000
        same_end = [(base, f"u{i}", IPS[0], "cdn_math", 10, BACKFILL) for i in range(30)]  # one end_ms, many rows
        rows = [
            *same_end,
            (base + MIN, "Guest", IPS[1], "health", 60, BACKFILL),
            (base + MIN, "Guest", IPS[1], "health", 60, LIVE),  # a live repeat of a backfill row
            (base + MIN, "Guest", IPS[1], "health", 60, LIVE),  # and of a live row
            (base + 2 * MIN, "ama", IPS[2], "cdn_bio", 90, LIVE),
        ]
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO session_record (end_ms, start_ms, user_id, ip, module, duration_s, reason, source) "
                    "VALUES (:e, :s, :u, :ip, :m, :d, 'idle', :src)"
                ),
                [
                    {"e": e, "s": e - d * 1000, "u": u, "ip": ip, "m": m, "d": d, "src": src}
                    for e, u, ip, m, d, src in rows
                ],
            )
        migrate(engine, in_process=True)  # the data step under test; the child process: tests/test_db.py
        with engine.connect() as conn:
            assert conn.execute(select(func.sum(UsageDaily.sessions))).scalar_one() == 32
            assert conn.execute(select(func.sum(UsageDaily.seconds))).scalar_one() == 300 + 60 + 90
            marked = set(conn.execute(select(DuplicateRow.record_id)).scalars())
            ids = conn.execute(select(RecordRow.id).order_by(RecordRow.id)).scalars().all()
        assert marked == {ids[30], ids[32]}
        wide = history.Range(0, 2**62, "all")
        assert history.totals(engine, wide) == history.totals(engine, wide, from_records=True)
        migrated = _rollup_tables(engine)
        with engine.begin() as conn:  # the migration's frozen data step gives what the live code gives
            rebuild_rollups(conn)
        assert migrated == _rollup_tables(engine)
    finally:
        engine.dispose()


def test_rebuild_reads_groups_larger_than_a_batch(engine: Engine) -> None:
    base = 1_800_000_000_000
    records = [rec(base, 10, user=f"u{i}") for i in range(25)] + [rec(base + i, 5, user="x") for i in range(1, 40)]
    insert(engine, records, IMPORT)
    with engine.begin() as conn:
        before = conn.execute(select(func.sum(UsageDaily.sessions))).scalar_one()
        assert rebuild_rollups(conn, batch=7) == 64
        assert conn.execute(select(func.sum(UsageDaily.sessions))).scalar_one() == before == 64


# ---------------------------------------------------------------- ranges


def test_ranges_across_dst_in_new_york(engine: Engine, new_york: ZoneInfo) -> None:
    fall = history.today(now=datetime(2025, 11, 2, 23, 59, tzinfo=new_york))
    assert fall.end_ms - fall.start_ms == 25 * HOUR
    spring = history.today(now=datetime(2026, 3, 8, 0, 1, tzinfo=new_york))
    assert spring.end_ms - spring.start_ms == 23 * HOUR
    # a session belongs to the day its end falls in: one ending at midnight is the next day's
    midnight = at(new_york, 2025, 11, 3)
    insert(engine, [rec(midnight - 1, 100), rec(midnight, 200), rec(midnight + 1, 300)], IMPORT)
    assert history.totals(engine, fall).seconds == 100
    nov3 = history.custom(date(2025, 11, 3), date(2025, 11, 3))
    assert history.totals(engine, nov3).seconds == 500
    assert history.totals(engine, nov3, from_records=True).seconds == 500


# ---------------------------------------------------------------- queries


def test_paging_and_filters(engine: Engine, new_york: ZoneInfo) -> None:
    rng_ = random.Random(7)
    start = at(new_york, 2026, 3, 1)
    records = counted(random_records(rng_, start, 20 * 24 * HOUR, 900))
    rare = rec(at(new_york, 2026, 3, 3, 9), 120, "10.9.9.9", "yaw", "cdn_bio")
    rare2 = rec(at(new_york, 2026, 3, 18, 9), 60, "10.9.9.9", "yaw", "cdn_bio")
    insert(engine, [*records, rare, rare2], IMPORT)
    everything = [*records, rare, rare2]
    march = history.custom(date(2026, 3, 1), date(2026, 3, 31))
    odd = history.Range(start + 5 * HOUR, start + 9 * 24 * HOUR + 7, "odd")  # raw path
    for r in (march, odd):
        for f in (
            Filters(),
            Filters(ip=IPS[2]),
            Filters(user="kofi", module="health"),
            Filters(ip="10.9.9.9"),
            Filters(ip=Match("9.9")),
            Filters(ip=Match("1.1"), user=Match("O")),
        ):
            want = sorted((x for x in everything if matches(x, r, f)), key=lambda x: -x.end_ms)
            got: list[history.SessionItem] = []
            page = 1
            while True:
                items, total = history.sessions_page(engine, r, f, page=page, page_size=37)
                assert total == len(want)
                if not items:
                    break
                assert len(items) <= 37
                got += items
                page += 1
            assert [(i.end_ms, i.ip, i.user, i.module, i.duration_s) for i in got] == [
                (x.end_ms, x.ip, x.user, x.module, x.duration_s) for x in want
            ]
            assert all(
                a.end_ms > b.end_ms or (a.end_ms == b.end_ms and a.id > b.id) for a, b in itertools.pairwise(got)
            )
    items, total = history.sessions_page(engine, march, Filters(ip="10.9.9.9"), page=2, page_size=1)
    assert total == 2 and [i.end_ms for i in items] == [rare.end_ms]
    assert history.sessions_page(engine, march, page=999) == ([], len(everything))
    with pytest.raises(ValueError):
        history.sessions_page(engine, march, page=0)
    empty = history.custom(date(2020, 1, 1), date(2020, 1, 2))
    assert history.totals(engine, empty) == history.Totals(0, 0, 0, 0)
    assert history.activity_by_hour(engine, empty, Filters(ip=IPS[0])) == [0.0] * 24
    assert history.minutes_by_module(engine, empty) == []


def test_device_timeline(engine: Engine, london: ZoneInfo) -> None:
    day = date(2026, 3, 29)
    a = rec(at(london, 2026, 3, 29, 0, 10), 1200, IPS[0], "Guest", "cdn_math")  # started the day before
    b = rec(at(london, 2026, 3, 29, 9, 0), 600, IPS[0], "ama", "health")
    c = rec(at(london, 2026, 3, 29, 8, 0), 60, IPS[0], "ama", "cdn_bio")
    other = rec(at(london, 2026, 3, 29, 9, 0), 600, IPS[1])
    next_day = rec(at(london, 2026, 3, 30, 0, 0), 60, IPS[0])
    insert(engine, [a, b, c, other, next_day], BACKFILL)
    timeline = history.device_timeline(engine, IPS[0], day)
    assert [(i.start_ms, i.end_ms, i.module, i.user) for i in timeline] == [
        (a.start_ms, a.end_ms, "cdn_math", "Guest"),
        (c.start_ms, c.end_ms, "cdn_bio", "ama"),
        (b.start_ms, b.end_ms, "health", "ama"),
    ]
    assert history.device_timeline(engine, "10.1.1.1", day) == []


# ---------------------------------------------------------------- CSV


def test_csv_columns_and_escaping(engine: Engine, london: ZoneInfo) -> None:
    """DESIGN §4: the first six columns are cdn-auto's (Access Date/Time = the UTC end), then ours."""
    end = at(london, 2026, 3, 29, 0, 10, 5)
    tricky = rec(end, 1200, IPS[0], 'Ama "Q", Mensah', "cdn_math")  # started 23:50:05 the day before
    plain = rec(end + MIN, 30, IPS[1], "Guest", "wassce-english")
    newline = rec(end + 2 * MIN, 45, IPS[3], "Kọ́fí\nBoateng", "health")
    insert(engine, [tricky, plain, newline], IMPORT)
    labels = {IPS[0]: "Desk 1, by the door", IPS[3]: "Ñandú «tablet»"}
    names = {"cdn_math": 'Maths, "core"', "wassce-english": "English — WASSCE", "health": "Santé"}
    chunks = list(
        csv_rows(
            engine, history.today(now=datetime(2026, 3, 29, 12, tzinfo=london)), Filters(), labels, names.__getitem__
        )
    )
    data = "".join(chunks)
    assert chunks[0] == (
        "User,Access Time,IP Address,Access Date,Module Viewed,Duration Seconds,Module ID,Device,Local Start,Local End\r\n"
    )
    assert not data.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(data, newline="")))
    assert tuple(rows[0]) == CSV_HEADER
    assert rows[1:] == [
        ['Ama "Q", Mensah', "00:10:05", IPS[0], "2026-03-29", 'Maths, "core"', "1200", "cdn_math",
         "Desk 1, by the door", "2026-03-28 23:50:05", "2026-03-29 00:10:05"],
        ["Guest", "00:11:05", IPS[1], "2026-03-29", "English — WASSCE", "30", "wassce-english", "",
         "2026-03-29 00:10:35", "2026-03-29 00:11:05"],
        ["Kọ́fí Boateng", "00:12:05", IPS[3], "2026-03-29", "Santé", "45", "health", "Ñandú «tablet»",
         "2026-03-29 00:11:20", "2026-03-29 00:12:05"],
    ]  # fmt: skip
    assert '"Ama ""Q"", Mensah"' in data
    data.encode("utf-8")  # all of it is UTF-8 text
    only = "".join(csv_rows(engine, history.Range(0, 2**62, "all"), Filters(ip=IPS[1])))
    assert only.count("\r\n") == 2 and ",wassce-english,30,wassce-english," in only  # names default: the slug
