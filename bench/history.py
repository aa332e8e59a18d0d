"""History benchmark: a year of a busy centre (2M session records) in SQLite and PostgreSQL.

Run from the repository root::

    .venv/bin/python bench/history.py [--records N] [--seed S] [--repeat R] [--filters] [--tz ZONE]

1. Generates N synthetic records (default 2,000,000) over the school days of 2025: ~60 devices,
   ~40 modules (a few much more popular), six lesson periods a day, 70 % Guest and ~400 pupils.
2. Loads them into a SQLite file in a temporary directory and, when 127.0.0.1:5432 answers, into a
   temporary PostgreSQL schema (dropped afterwards): schema by `migrate()`, rows by one executemany
   (SQLite) or COPY (PostgreSQL), roll-ups by `gaze.records.Rollup` — the accumulator `add_records`
   uses — written with its upsert. PostgreSQL gets ANALYZE (autovacuum's job in service).
   Also measured: `add_records` itself, batches of 100 live records into the loaded database.
3. Times the History page's queries — totals, minutes_by_module, activity_by_hour, the first
   sessions_page — separately and all four together for "Last 7 days" and "This year" (now =
   2025-12-31 15:00 local), unfiltered; with --filters also by a device, by Guest (70 % of the
   records) and by a module + Guest. Median of R runs after one cold run.
   Target: each ≤ 200 ms on SQLite. Prints PASS/MISS; exits 0 (1 only on a setup failure).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from sqlalchemy import Engine, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from gaze import history  # noqa: E402
from gaze.db import BACKFILL, LIVE, make_engine, migrate  # noqa: E402
from gaze.history import Filters, Range  # noqa: E402
from gaze.records import Rollup, add_records  # noqa: E402
from gaze.sessions import SessionRecord  # noqa: E402

TARGET_MS = 200.0
YEAR = 2025
PG_URL = os.environ.get("MODULEGAZE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
DEVICES = [f"192.168.10.{i}" for i in range(11, 71)]  # 60
MODULES = [f"cdn_module_{i:02d}" for i in range(40)]
PUPILS = [f"pupil{i:03d}" for i in range(400)]
PERIODS = [(8, 0), (9, 10), (10, 20), (11, 30), (13, 0), (14, 10)]  # one hour each
Row = tuple[int, int, str, str, str, int, str, str]
FILTERS = [
    (Filters(), "all"),
    (Filters(ip=DEVICES[7]), "one device"),
    (Filters(user="Guest"), "user Guest"),
    (Filters(module=MODULES[0], user="Guest"), "top module + Guest"),
]


# ---------------------------------------------------------------- data


def school_days() -> list[date]:
    d, out = date(YEAR, 1, 6), []
    while d.year == YEAR:
        if d.weekday() < 5:
            out.append(d)
        d += timedelta(days=1)
    return out


def generate(n: int, seed: int) -> Iterator[Row]:
    """Records in end order per device period; exactly n of them."""
    rng = random.Random(seed)
    days = school_days()
    busy = 0.9
    available = len(days) * len(DEVICES) * len(PERIODS) * busy * 3600
    gap = 12.0
    mean = max(available / n - gap, 5.0)  # session length that makes n records fit
    weights = [1 / (i + 1) ** 0.9 for i in range(len(MODULES))]
    produced = 0
    per_day = n / len(days)
    for index, day in enumerate(days):
        quota = round(per_day * (index + 1)) - round(per_day * index)
        made = 0
        lesson = rng.choices(MODULES, weights, k=len(PERIODS))
        for device in DEVICES:
            for p, (hour, minute) in enumerate(PERIODS):
                if rng.random() > busy:
                    continue
                user = "Guest" if rng.random() < 0.7 else rng.choice(PUPILS)
                extra = rng.choices(MODULES, weights, k=2)
                t = int(datetime(day.year, day.month, day.day, hour, minute).timestamp() * 1000)
                t += rng.randrange(300_000)
                stop = t + 3_600_000
                while t < stop and made < quota:
                    module = lesson[p] if rng.random() < 0.6 else rng.choice(extra)
                    seconds = int(rng.expovariate(1 / mean)) + 1
                    end = t + seconds * 1000 + rng.randrange(1000)
                    yield (end - seconds * 1000, end, user, device, module, seconds, "idle", BACKFILL)
                    made += 1
                    produced += 1
                    if produced >= n:
                        return
                    t = end + int(rng.expovariate(1 / gap) * 1000)
        if made < quota:  # a lull: the rest of the quota at the end of the day
            for i in range(quota - made):
                end = int(datetime(day.year, day.month, day.day, 16, 30).timestamp() * 1000) + i * 1000
                yield (end - 60_000, end, "Guest", rng.choice(DEVICES), rng.choice(MODULES), 60, "idle", BACKFILL)
                produced += 1
                if produced >= n:
                    return


# ---------------------------------------------------------------- loading

INSERT_SQL = (
    "INSERT INTO session_record (start_ms, end_ms, user_id, ip, module, duration_s, reason, source) VALUES ({})"
)


def chunks(rows: Iterator[Row], size: int) -> Iterator[list[Row]]:
    chunk: list[Row] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def load(engine: Engine, n: int, seed: int) -> dict[str, float]:
    """Bulk rows + roll-ups with the add_records accumulator; returns timings (s)."""
    rollup = Rollup()
    started = time.perf_counter()
    insert_s = rollup_s = 0.0
    with engine.begin() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        for chunk in chunks(generate(n, seed), 100_000):
            t0 = time.perf_counter()
            for row in chunk:
                rollup.add(row[1], row[5], row[4], row[3], row[2])
            t1 = time.perf_counter()
            cursor = raw.cursor()
            if engine.dialect.name == "postgresql":
                with cursor.copy(
                    "COPY session_record (start_ms, end_ms, user_id, ip, module, duration_s, reason, source) FROM STDIN"
                ) as copy:
                    for row in chunk:
                        copy.write_row(row)
            else:
                cursor.executemany(INSERT_SQL.format(",".join("?" * 8)), chunk)
            cursor.close()
            t2 = time.perf_counter()
            rollup_s += t1 - t0
            insert_s += t2 - t1
        daily_rows = len(rollup)
        t0 = time.perf_counter()
        rollup.write(conn)
        rollup_s += time.perf_counter() - t0
    analyze_s = 0.0
    if engine.dialect.name == "postgresql":
        t0 = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
        analyze_s = time.perf_counter() - t0
    return {
        "total": time.perf_counter() - started,
        "rows": insert_s,
        "rollups": rollup_s,
        "analyze": analyze_s,
        "daily_rows": float(daily_rows),
    }


def live_inserts(engine: Engine, batches: int = 50, size: int = 100) -> float:
    """add_records (the live path) into the loaded database: records per second."""
    base = int(datetime(YEAR, 12, 31, 15).timestamp() * 1000)
    rng = random.Random(5)
    started = time.perf_counter()
    for b in range(batches):
        records = [
            SessionRecord(
                rng.choice(DEVICES), "Guest", rng.choice(MODULES), base - 90_000, base + b * 10_000 + i, "idle"
            )
            for i in range(size)
        ]
        with Session(engine) as db, db.begin():
            add_records(db, records, LIVE)
    return batches * size / (time.perf_counter() - started)


# ---------------------------------------------------------------- queries


def timed(fn: Callable[[], object], repeat: int) -> float:
    """Median ms of `repeat` runs after one cold run."""
    fn()
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - t0) * 1000)
    return statistics.median(runs)


def page_queries(engine: Engine, rng: Range, f: Filters) -> list[Callable[[], object]]:
    calls: list[Callable[[], object]] = [
        lambda: history.totals(engine, rng, f),
        lambda: history.minutes_by_module(engine, rng, f),
        lambda: history.activity_by_hour(engine, rng, f),
        lambda: history.sessions_page(engine, rng, f, 1, 50),
    ]
    parts = list(calls)
    calls.append(lambda: [call() for call in parts])
    return calls


def report_queries(engine: Engine, repeat: int, check: bool, filters: bool) -> list[bool]:
    now = datetime(YEAR, 12, 31, 15)
    results = []
    print(f"  {'median ms':<33}{'totals':>7}{'modules':>8}{'hours':>7}{'page 1':>7}{'all 4':>7}")
    for rng in (history.last_days(7, now=now), history.this_year(now=now)):
        for f, what in FILTERS if filters else FILTERS[:1]:
            name = rng.label if not f else f"{rng.label}, {what}"
            times = [timed(fn, repeat) for fn in page_queries(engine, rng, f)]
            verdict = ""
            if check:
                ok = max(times) <= TARGET_MS
                results.append(ok)
                verdict = "  PASS" if ok else "  MISS"
            widths = (7, 8, 7, 7, 7)
            print(f"  {name:<33}" + "".join(f"{t:>{w}.1f}" for t, w in zip(times, widths, strict=True)) + verdict)
    return results


def run(engine: Engine, label: str, n: int, seed: int, repeat: int, check: bool, filters: bool) -> list[bool]:
    migrate(engine)
    times = load(engine, n, seed)
    extra = f", ANALYZE {times['analyze']:.1f}" if times["analyze"] else ""
    print(
        f"{label}: load {times['total']:.1f} s (rows {times['rows']:.1f}, roll-ups {times['rollups']:.1f}{extra}); "
        f"live add_records {live_inserts(engine):,.0f} records/s"
    )
    return report_queries(engine, repeat, check, filters)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--records", type=int, default=2_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--filters", action="store_true", help="also time filtered queries (device, Guest, …)")
    parser.add_argument("--tz", default=os.environ.get("TZ") or "Africa/Accra", help="local time zone of the centre")
    args = parser.parse_args(argv)
    os.environ["TZ"] = args.tz
    time.tzset()
    print(
        f"History benchmark: {args.records:,} records, school days of {YEAR}, {len(DEVICES)} devices, "
        f"{len(MODULES)} modules, TZ={args.tz}"
    )
    verdicts: list[bool] = []
    with tempfile.TemporaryDirectory(prefix="gaze-bench-") as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'gaze.db'}")
        try:
            verdicts += run(engine, "SQLite", args.records, args.seed, args.repeat, True, args.filters)
        finally:
            engine.dispose()
    try:
        import psycopg

        admin = psycopg.connect(PG_URL, autocommit=True, connect_timeout=3)
    except Exception as exc:
        print(f"PostgreSQL: skipped ({PG_URL} unreachable: {str(exc).strip().splitlines()[0]})")
    else:
        schema = f"gaze_bench_{uuid.uuid4().hex[:10]}"
        admin.execute(f'CREATE SCHEMA "{schema}"')
        engine = make_engine(f"{PG_URL}?options=-csearch_path%3D{schema}")
        try:
            run(engine, "PostgreSQL", args.records, args.seed, args.repeat, False, args.filters)
        finally:
            engine.dispose()
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
            admin.close()
    passed = sum(verdicts)
    print(
        f"SQLite, each query ≤ {TARGET_MS:.0f} ms: {'PASS' if passed == len(verdicts) else 'MISS'} "
        f"({passed}/{len(verdicts)} rows)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
