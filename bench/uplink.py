"""Uplink benchmark: 10,000 queued records shipped to an S3-protocol server (moto, on loopback).

Run from the repository root (needs `moto[server]` from requirements-dev.txt)::

    .venv/bin/python bench/uplink.py [--records N] [--batch-records B]

1. Starts moto's S3 server with signature checking, creates a bucket, and queues N records (default
   10,000) in a fresh SQLite database through `add_records(..., outbox=True)`, 100 per transaction
   as the live recorder does.
2. In a child process that first imports what the running app imports (NiceGUI, SQLAlchemy, the
   recorder, history and catalog) and opens the database — the baseline — imports `gaze.uplink` and
   ships everything: time (forming batches vs PUTs), objects, records and bytes sent, and the RSS
   added over the baseline (after the shipment, and the peak). Target: <= 10 MB RSS added.
3. The same objects sent by boto3 from an identical child: the library the uplink does not use,
   as a baseline for time and memory in the same run.
4. With journal tools (systemd-journal-remote) and unless --no-app: the real app (`python main.py`)
   twice on a copy of the same database, once with the uplink off, once shipping the 10,000
   records (interval 0.1 min); RSS of each after the shipment has settled.
Every row read back from the bucket is compared with the records. Prints PASS/MISS, exits 0.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from gaze.sessions import SessionRecord
    from tests.s3kit import Moto

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

TARGET_MB = 10.0


def _rss_kib(field: str = "VmRSS") -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _app_baseline(db_url: str) -> Engine:
    """Import what the running app imports and open its database: the memory the uplink adds to."""
    import nicegui  # noqa: F401
    from sqlalchemy import text

    from gaze import catalog, history, recorder  # noqa: F401
    from gaze.db import make_engine

    engine = make_engine(db_url)
    with engine.connect() as conn:
        conn.execute(text("SELECT count(*) FROM session_record")).scalar()
    return engine


def child(mode: str, db_url: str, endpoint: str, key: str, secret: str, bucket: str, batch: int) -> None:
    engine = _app_baseline(db_url)
    base, hwm_base = _rss_kib(), _rss_kib("VmHWM")
    out: dict[str, float | int] = {"base_kib": base}
    t0 = time.perf_counter()
    if mode == "ours":
        from gaze.uplink import Credentials, Store, Uplink, UplinkConfig, put_object

        out["import_s"], out["import_kib"] = time.perf_counter() - t0, _rss_kib()
        put_clock = [0.0]

        def timed_put(store: Store, k: str, body: bytes) -> str:
            started = time.perf_counter()
            try:
                return put_object(store, k, body)
            finally:
                put_clock[0] += time.perf_counter() - started

        config = UplinkConfig(Store(bucket, "us-east-1", Credentials(key, secret), endpoint), "bench", "benchclc", 900)
        uplink = Uplink(config, engine, batch_records=batch, put=timed_put)
        report = uplink.ship()
        if report.error:
            raise SystemExit(f"shipment failed: {report.error}")
        out.update(objects=report.objects, records=report.records, bytes=report.bytes, put_s=put_clock[0])
    else:
        import boto3
        from sqlalchemy import select

        from gaze.csvrow import cdn_row
        from gaze.db import RecordRow
        from gaze.uplink.outbox import csv_bytes

        client = boto3.client(
            "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=key, aws_secret_access_key=secret
        )
        out["import_s"], out["import_kib"] = time.perf_counter() - t0, _rss_kib()
        r = RecordRow.__table__.c
        with engine.connect() as conn:
            rows = conn.execute(select(r.end_ms, r.user_id, r.ip, r.module, r.duration_s).order_by(r.end_ms)).all()
        put_s, sent = 0.0, 0
        for i in range(0, len(rows), batch):
            body = csv_bytes(cdn_row(*row) for row in rows[i : i + batch])  # as outbox.next_batch forms a body
            started = time.perf_counter()
            client.put_object(Bucket=bucket, Key=f"boto3/{i}.csv", Body=body)
            put_s += time.perf_counter() - started
            sent += len(body)
        out.update(objects=(len(rows) + batch - 1) // batch, records=len(rows), bytes=sent, put_s=put_s)
    out["total_s"] = time.perf_counter() - t0
    out["after_kib"], out["peak_added_kib"] = _rss_kib(), _rss_kib("VmHWM") - hwm_base
    print(json.dumps(out))


def running_apps(tmp: Path, moto: Moto, recs: Sequence[SessionRecord]) -> tuple[int, int, int] | None:
    """RSS (KiB) of the app with the uplink off, then on after shipping `recs`; None without journal tools."""
    import shutil

    from sqlalchemy.orm import Session

    from gaze.db import LIVE, make_engine, migrate
    from gaze.records import add_records
    from tests import journalkit
    from tests.browserkit import App, access_line, append, entry_path

    if not journalkit.available():
        return None
    journal = tmp / "oc4d.journal"
    now = int(time.time() * 1000)
    append(journal, [(now - 60_000, access_line("192.168.4.9", entry_path("cdn_module_00"), now - 60_000))])
    seeded = tmp / "seeded.db"
    engine = make_engine(f"sqlite:///{seeded}")
    migrate(engine)
    for i in range(0, len(recs), 100):
        with Session(engine) as db, db.begin():
            add_records(db, recs[i : i + 100], LIVE, outbox=True)
    engine.dispose()
    results: list[int] = []
    shipped = 0
    for mode in ("off", "on"):
        workdir = tmp / f"app-{mode}"
        (workdir / "data").mkdir(parents=True)
        shutil.copy(seeded, workdir / "data" / "gaze.db")
        bucket = moto.new_bucket()
        extra = moto.env(bucket, MODULEGAZE_UPLINK_INTERVAL_MINUTES="0.1") if mode == "on" else {}
        app = App(journal, workdir, extra_env=extra).start(60)
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                time.sleep(1)
                uplink = app.health()[1].get("uplink")
                if mode == "off" or (uplink and uplink["queued"] == 0):
                    break
            time.sleep(10)  # let the app settle (GC, the hub's ticks) before reading its RSS
            if mode == "on":
                shipped = len(moto.rows(bucket))
            results.append(app.rss_kib())
        finally:
            app.stop()
    return results[0], results[1], shipped


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--batch-records", type=int, default=5000)
    parser.add_argument("--no-app", action="store_true", help="skip the measurement on the running app")
    parser.add_argument("child", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, db_url, endpoint, key, secret, bucket = args.child
        child(mode, db_url, endpoint, key, secret, bucket, args.batch_records)
        return 0

    from sqlalchemy.orm import Session

    from gaze.csvrow import cdn_row
    from gaze.db import LIVE, make_engine, migrate
    from gaze.records import add_records
    from gaze.sessions import SessionRecord
    from tests.s3kit import Moto

    with tempfile.TemporaryDirectory(prefix="uplink-bench-") as tmp:
        moto = Moto(Path(tmp) / "moto").start()
        try:
            bucket = moto.new_bucket()
            db_url = f"sqlite:///{Path(tmp) / 'gaze.db'}"
            engine = make_engine(db_url)
            migrate(engine)
            t0 = 1_777_905_040_000
            recs = [
                SessionRecord(
                    f"192.168.10.{11 + i % 60}",
                    "Guest" if i % 3 else f"pupil{i % 400:03d}",
                    f"cdn_module_{i % 40:02d}",
                    t0 + i * 6000 - 300_000,
                    t0 + i * 6000,
                    "switch",
                )
                for i in range(args.records)
            ]
            plain = make_engine(f"sqlite:///{Path(tmp) / 'plain.db'}")
            migrate(plain)
            queue_s = {}
            for name, target, outbox in (("without", plain, False), ("with", engine, True)):
                started = time.perf_counter()
                for i in range(0, len(recs), 100):
                    with Session(target) as db, db.begin():
                        add_records(db, recs[i : i + 100], LIVE, outbox=outbox)
                queue_s[name] = time.perf_counter() - started
                target.dispose()
            figures = {}
            for mode in ("ours", "boto3"):
                cmd = [
                    sys.executable,
                    __file__,
                    "--batch-records",
                    str(args.batch_records),
                    mode,
                    db_url,
                    moto.endpoint,
                    moto.access_key,
                    moto.secret_key,
                    bucket,
                ]
                done = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=REPO)
                figures[mode] = json.loads(done.stdout.strip().splitlines()[-1])
            want = sorted([cdn_row(r.end_ms, r.user, r.ip, r.module, r.duration_s) for r in recs] * 2)
            same = sorted(moto.rows(bucket)) == want  # our objects and boto3's: each record once in each
            apps = None if args.no_app else running_apps(Path(tmp), moto, recs)
        finally:
            moto.stop()
    print(f"uplink benchmark: {args.records:,} records, {args.batch_records:,} per object, SQLite, moto on loopback")
    print(
        f"  add_records, 100 per transaction: {queue_s['with']:.2f} s queueing in the outbox,"
        f" baseline {queue_s['without']:.2f} s without (+{queue_s['with'] - queue_s['without']:.2f} s)"
    )
    for mode, label in (("ours", "gaze.uplink (SigV4 over http.client)"), ("boto3", "baseline: boto3 put_object")):
        f = figures[mode]
        added = (f["after_kib"] - f["base_kib"]) / 1024
        print(
            f"  {label}: {f['objects']} objects, {f['records']:,} records, {f['bytes']:,} bytes in {f['total_s']:.2f} s"
            f" (import {f['import_s'] * 1000:.0f} ms, PUTs {f['put_s']:.2f} s); app baseline {f['base_kib'] / 1024:.1f} MB,"
            f" import +{(f['import_kib'] - f['base_kib']) / 1024:.1f} MB,"
            f" RSS added {added:.1f} MB (peak {f['peak_added_kib'] / 1024:.1f} MB)"
        )
    ours = figures["ours"]
    added = max(ours["after_kib"] - ours["base_kib"], ours["peak_added_kib"]) / 1024
    print(f"  rows read back equal the records: {'yes' if same else 'NO'}")
    if apps is not None:
        off, on, shipped = apps
        print(
            f"  running app (python main.py): RSS {off / 1024:.1f} MB with the uplink off, {on / 1024:.1f} MB after"
            f" shipping {shipped:,} records (+{(on - off) / 1024:.1f} MB)"
        )
        added = max(added, (on - off) / 1024)
    print(
        f"  {'PASS' if added <= TARGET_MB and same else 'MISS'}: RSS added {added:.1f} MB (target <= {TARGET_MB:.0f} MB)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
