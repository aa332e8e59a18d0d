"""Catch-up through poison on PostgreSQL (issue 18.6): 20,000 poison lines among 8,000 good ones.

Run from the repository root::

    .venv/bin/python bench/poison.py [--good 8000] [--poison 20000] [--compare CHECKOUT]

Writes two real `.journal` files (tests/journalkit: systemd-journal-remote): a classroom day of
`--good` lines (tests/livekit.corpus), and the same day with `--poison` lines mixed in, two hits per
device (an entry, then an asset 20 s later), each device its own. Of every 8 poison devices, 6 carry
control characters (a NUL, TAB, ESC or DEL in `user=` or in the module id: refused by PostgreSQL
before DESIGN §4 made them spaces, ordinary records now), 1 a lone surrogate in its JSON identity
(`{"user":"\\ud800…"}`: not UTF-8, still refused) and 1 a module id of 3,000 varied characters (over
PostgreSQL's index limit for a roll-up key: still refused).

For each journal the real service catches up: `python main.py follow` over the file (JOURNAL_SINCE
all) into a fresh PostgreSQL schema, timed from the start of the process to the checkpoint holding
the journal's last cursor; a third journal is a clean day with as many lines as the poisoned one.
Shown: that time, the follower's peak RSS (VmHWM), the schema's size on
disk (tables, indexes, TOAST), session_record and set_aside rows, and whether every good record
(the devices of the clean day) is the same as in the clean run. Target: poisoned <= 10 x clean.
`--compare CHECKOUT` also runs the poisoned journal through another checkout (e.g. the code before
the change: `git archive <rev> | tar -x -C /tmp/base`). A report, not a test: it prints the figures
and exits 0 (1 when PostgreSQL or the journal tools are missing).
"""

from __future__ import annotations

import argparse
import random
import string
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import psycopg  # noqa: E402

from gaze.simulator import Line  # noqa: E402
from tests import journalkit  # noqa: E402
from tests.browserkit import access_line, asset_path, entry_path  # noqa: E402
from tests.livekit import corpus, env_for, last_cursor, write  # noqa: E402

PG = "postgresql://postgres@127.0.0.1:5432/test"
POISON_NET = "10.200"  # the poison devices: 10.200.x.y (the classroom uses 192.168.x.y)


@dataclass
class Run:
    label: str
    seconds: float
    peak_mib: float
    db_mib: float
    records: int
    set_aside: int
    good: list[tuple[object, ...]]
    tables: str  # the largest tables


def poison_lines(good: list[Line], count: int) -> list[Line]:
    """`count` poison lines (count // 2 devices), spread over the good lines' time span."""
    rng = random.Random(18)
    first, last = good[0].time_ms, good[-2].time_ms  # before the sentinel
    out: list[Line] = []
    for k in range(count // 2):
        ip = f"{POISON_NET}.{k // 250}.{k % 250 + 1}"
        at = first + (last - first) * k // max(1, count // 2)
        kind = k % 8
        slug, trailer = "cdn_math", ""
        user: str | None = f"ab%00cd%09ef{k}"
        if kind in (1, 2):
            user = f"p%1b{k}%7f"
        elif kind == 3:
            slug, user = f"cdn%00x{k % 10}", f"m{k}"
        elif kind == 4:
            user = f"%09t{k}%0d%0a"
        elif kind == 6:
            user, trailer = None, ' {"user":"s\\ud800' + str(k) + '"}'
        elif kind == 7:
            slug, user = "".join(rng.choices(string.ascii_letters + string.digits, k=3000)), f"long{k}"
        for step, path in ((0, entry_path(slug)), (20_000, asset_path(slug))):
            out.append(Line(at + step, access_line(ip, path, at + step, user=user) + trailer))
    return out


def schema_url(schema: str) -> str:
    return f"{PG}?options=-csearch_path%3D{schema}"


def query(sql: str, schema: str) -> list[tuple[object, ...]]:
    with psycopg.connect(PG, autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{schema}"')
        return [tuple(row) for row in conn.execute(sql)]


def cursor_of(schema: str) -> str | None:
    try:
        rows = query("SELECT cursor FROM checkpoint WHERE name = 'live'", schema)
    except psycopg.Error:
        return None
    return str(rows[0][0]) if rows else None


def peak_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def catch_up(label: str, journal: Path, work: Path, checkout: Path, timeout_s: float) -> Run:
    schema = f"bench_poison_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        log_dir = work / f"{label}-logs"
        env = env_for(journal, log_dir, schema_url(schema))
        target = last_cursor(journal)
        out = (work / f"{label}.out").open("wb")
        started = time.monotonic()
        process = subprocess.Popen(
            [sys.executable, str(checkout / "main.py"), "follow", "--log-level", "WARNING"],
            cwd=checkout, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            while cursor_of(schema) != target:
                if process.poll() is not None or time.monotonic() - started > timeout_s:
                    raise RuntimeError(f"{label}: the follower stopped or did not catch up (see {out.name})")
                time.sleep(0.1)
            seconds = time.monotonic() - started
            peak = peak_mib(process.pid)
        finally:
            process.terminate()
            process.wait(30)
        size = query(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'm')",
            schema,
        )[0][0]
        largest = query(
            "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c "
            "WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r' ORDER BY 2 DESC LIMIT 3",
            schema,
        )
        tables = ", ".join(f"{name} {int(str(size)) / 2**20:.1f}" for name, size in largest)
        records = int(str(query("SELECT count(*) FROM session_record", schema)[0][0]))
        aside = int(str(query("SELECT count(*) FROM set_aside", schema)[0][0]))
        good = query(
            "SELECT end_ms, user_id, ip, module, duration_s FROM session_record "
            f"WHERE ip NOT LIKE '{POISON_NET}.%' ORDER BY end_ms, ip, user_id, module",
            schema,
        )
        return Run(label, seconds, peak, int(str(size)) / 2**20, records, aside, good, tables)
    finally:
        with psycopg.connect(PG, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--good", type=int, default=8000)
    parser.add_argument("--poison", type=int, default=20000)
    parser.add_argument("--compare", type=Path, action="append", default=[])
    parser.add_argument("--timeout", type=float, default=900.0)
    args = parser.parse_args()
    if not journalkit.available():
        print("needs systemd-journal-remote and journalctl")
        return 1
    try:
        psycopg.connect(PG, connect_timeout=3).close()
    except psycopg.Error as exc:
        print(f"needs PostgreSQL at {PG}: {exc}")
        return 1
    good = corpus(seed=61, entries=args.good)
    mixed = sorted([*good, *poison_lines(good, args.poison)], key=lambda line: line.time_ms)
    with tempfile.TemporaryDirectory(prefix="bench-poison-") as tmp:
        work = Path(tmp)
        write(work / "clean" / "oc4d.journal", good)
        write(work / "poison" / "oc4d.journal", mixed)
        write(work / "same" / "oc4d.journal", corpus(seed=62, entries=len(mixed) - 1))
        runs = [
            catch_up("clean", work / "clean" / "oc4d.journal", work, REPO, args.timeout),
            catch_up("poisoned", work / "poison" / "oc4d.journal", work, REPO, args.timeout),
            catch_up("clean, as many lines", work / "same" / "oc4d.journal", work, REPO, args.timeout),
        ]
        for k, checkout in enumerate(args.compare):
            label = f"poisoned ({checkout})"
            runs.append(
                catch_up(f"compare{k}", work / "poison" / "oc4d.journal", work, checkout.resolve(), args.timeout)
            )
            runs[-1].label = label
    clean = runs[0]
    print(f"journal: {len(good):,} good lines; {len(mixed) - len(good):,} poison lines among them")
    print(
        f"{'run':<28} {'catch-up s':>10} {'x clean':>8} {'peak MiB':>9} {'DB MiB':>7} {'records':>8} {'set aside':>9}  good same"
    )
    for run in runs:
        same = "yes" if run.good == clean.good else f"NO ({len(run.good)} vs {len(clean.good)})"
        same = "-" if run is runs[2] else same
        ratio = run.seconds / clean.seconds
        print(
            f"{run.label:<28} {run.seconds:>10.1f} {ratio:>8.1f} {run.peak_mib:>9.0f} {run.db_mib:>7.1f}"
            f" {run.records:>8,} {run.set_aside:>9,}  {same}"
        )
    for run in runs:
        print(f"{run.label}: largest tables (MiB): {run.tables}")
    ratio = runs[1].seconds / clean.seconds
    print(f"target: poisoned <= 10 x clean: {ratio:.1f} x -> {'PASS' if ratio <= 10 else 'MISS'}")
    versus = runs[1].seconds / runs[2].seconds
    print(f"poisoned / clean with as many lines: {versus:.1f} x -> {'PASS' if versus <= 10 else 'MISS'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
