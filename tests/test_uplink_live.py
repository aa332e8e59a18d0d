"""Uplink end to end: the shipping process SIGKILLed at random points of a shipment, the `uplink`
command, the web app and `follow` shipping on their own clock, and a wrong endpoint while serving."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from gaze.csvrow import cdn_row as csv_row
from gaze.db import LIVE, UplinkBatchRow, make_engine, migrate
from gaze.records import add_records
from gaze.uplink.outbox import counts
from tests import journalkit, livekit
from tests.browserkit import App, access_line, append, entry_path, free_port, make_catalog
from tests.conftest import ROOT, foreign_environ, require
from tests.s3kit import Moto
from tests.test_uplink import T0, records

pytestmark = pytest.mark.usefixtures("clean_env")


def sqlite(tmp_path: Path) -> tuple[str, Engine]:
    url = f"sqlite:///{tmp_path / 'data' / 'gaze.db'}"
    engine = make_engine(url)
    migrate(engine)
    return url, engine


def cli_env(tmp_path: Path, db_url: str, moto: Moto, bucket: str) -> dict[str, str]:
    return {
        **foreign_environ(),
        "MODULEGAZE_DATABASE_URL": db_url,
        "MODULEGAZE_DATA_DIR": str(tmp_path / "data"),
        "MODULEGAZE_UPLOADS_MODULES_ROOT": str(tmp_path / "uploads"),
        **moto.env(bucket),
    }


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "uplink", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_sigkill_at_random_points_ships_every_record_once(tmp_path: Path, moto: Moto) -> None:
    bucket = moto.new_bucket()
    url, engine = sqlite(tmp_path)
    recs = records(1200)
    with Session(engine) as db, db.begin():
        add_records(db, recs, LIVE, outbox=True)
    env = cli_env(tmp_path, url, moto, bucket)
    rng = random.Random(10)
    mid_shipment = 0
    formed = 0
    for _ in range(6):
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "main.py"), "uplink", "--once", "--batch-records", "25"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        target = formed + rng.randint(1, 5)  # kill after a few more batches exist, then a random moment later
        deadline = time.monotonic() + 60
        while process.poll() is None and time.monotonic() < deadline:
            with engine.connect() as conn:
                formed = conn.execute(select(func.count()).select_from(UplinkBatchRow)).scalar_one()
            if formed >= target:
                break
            time.sleep(0.005)
        time.sleep(rng.uniform(0, 0.03))
        process.kill()
        process.wait(timeout=10)
        if 0 < counts(engine).waiting < len(recs):
            mid_shipment += 1
    assert mid_shipment >= 3, "the kills should land while a shipment is under way"
    done = run_cli(env, "--once", "--batch-records", "25")
    assert done.returncode == 0, done.stderr
    assert counts(engine).waiting == 0
    rows = moto.rows(bucket)
    assert len(rows) == len(recs)  # none twice
    assert sorted(rows) == sorted(csv_row(r.end_ms, r.user, r.ip, r.module, r.duration_s) for r in recs)  # none lost
    engine.dispose()


def test_uplink_command(tmp_path: Path, moto: Moto) -> None:
    bucket = moto.new_bucket()
    url, engine = sqlite(tmp_path)
    make_catalog(tmp_path / "uploads", {"cdn_math": "Mathematics 7"})
    old, new = records(5), records(4, start=T0 + 2 * 86_400_000)
    with Session(engine) as db, db.begin():
        add_records(db, old + new, LIVE, outbox=False)  # stored before the uplink was turned on
    env = cli_env(tmp_path, url, moto, bucket)
    status = run_cli(env)
    assert status.returncode == 0 and "0 records waiting" in status.stdout and "last upload: never" in status.stdout
    since = time.strftime("%Y-%m-%d", time.localtime(new[0].end_ms / 1000 - 86_400))
    queued = run_cli(env, "--queue-since", since, "--once")
    assert queued.returncode == 0, queued.stderr
    lines = queued.stdout.splitlines()
    assert lines[0] == f"queued 4 records that ended on or after {since} (local time)"
    assert "shipped 1 object: 4 records" in queued.stdout and "0 records waiting" in queued.stdout
    assert run_cli(env, "--queue-since", since).stdout.startswith("queued 0 records")  # never twice
    rows = moto.rows(bucket)
    assert sorted(rows) == sorted(
        csv_row(r.end_ms, r.user, r.ip, r.module, r.duration_s, "Mathematics 7" if r.module == "cdn_math" else None)
        for r in new
    )
    # bad input: one line, exit 2
    bad = run_cli(env, "--queue-since", "last week")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "--queue-since" in bad.stderr
    off = run_cli({k: v for k, v in env.items() if k != "MODULEGAZE_UPLINK_URL"}, "--once")
    assert off.returncode == 2 and off.stderr.startswith("uplink: MODULEGAZE_UPLINK_URL: not set")
    broken = run_cli({**env, "MODULEGAZE_UPLINK_LOCATION": "no spaces please"}, "--once")
    assert broken.returncode == 2 and broken.stderr.startswith("modulegaze: MODULEGAZE_UPLINK_LOCATION: ")
    down = run_cli(
        {**env, "MODULEGAZE_UPLINK_ENDPOINT": f"http://127.0.0.1:{free_port()}"},
        "--queue-since",
        "2000-01-01",
        "--once",
    )
    assert down.returncode == 1 and "refused the connection" in down.stdout and "5 records waiting" in down.stdout
    assert moto.secret_key not in down.stdout + down.stderr
    engine.dispose()


def _sessions(now_ms: int) -> list[tuple[int, str]]:
    """Two devices, each switching module once: two closed records of 61 s and 30 s."""
    t = now_ms - 600_000
    return [
        (t, access_line("192.168.4.21", entry_path("cdn_math"), t)),
        (t + 1000, access_line("192.168.4.22", entry_path("cdn_math"), t + 1000, user="ama%40example.com")),
        (t + 31_000, access_line("192.168.4.22", entry_path("cdn_acid"), t + 31_000, user="ama%40example.com")),
        (t + 61_000, access_line("192.168.4.21", entry_path("cdn_acid"), t + 61_000)),
    ]


def _wait(check: object, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.3)
    raise AssertionError(f"not reached within {timeout} s")


def test_app_ships_on_its_clock_and_keeps_serving_when_the_store_is_wrong(tmp_path: Path, moto: Moto) -> None:
    require(journalkit.available(), "systemd-journal-remote and journalctl")
    bucket = moto.new_bucket()
    now = int(time.time() * 1000)
    journal = tmp_path / "oc4d.journal"
    append(journal, _sessions(now))
    make_catalog(tmp_path / "app" / "uploads", {"cdn_math": "Mathematics 7"})
    app = App(journal, tmp_path / "app", extra_env=moto.env(bucket, MODULEGAZE_UPLINK_INTERVAL_MINUTES="0.1"))
    app.start()
    try:
        _wait(lambda: len(moto.rows(bucket)) == 2)
        rows = sorted(moto.rows(bucket))
        assert [(r[0], r[2], r[4], r[5]) for r in rows] == [
            ("Guest", "192.168.4.21", "Mathematics 7", "61"),
            ("ama@example.com", "192.168.4.22", "Mathematics 7", "30"),
        ]
        _wait(lambda: app.health()[1]["uplink"]["queued"] == 0)
        code, body = app.health()
        assert code == 200 and body["uplink"]["lastError"] is None and body["uplink"]["lastSuccessMs"] is not None
        assert moto.secret_key not in json.dumps(body) and moto.secret_key not in app.output()
    finally:
        app.stop()
    closed = free_port()
    wrong = App(
        journal, tmp_path / "wrong", extra_env=moto.env(bucket, MODULEGAZE_UPLINK_ENDPOINT=f"http://127.0.0.1:{closed}")
    )
    wrong.start()
    try:
        _wait(lambda: (wrong.health()[1]["uplink"] or {}).get("lastError") is not None)
        code, body = wrong.health()
        assert code == 200  # offline is normal: the app is healthy, the uplink says why it waits
        assert "refused the connection" in body["uplink"]["lastError"] and body["uplink"]["queued"] == 2
        with urllib.request.urlopen(f"{wrong.url}/login", timeout=5) as page:
            assert page.status == 200
    finally:
        wrong.stop()


def test_follow_ships_too(tmp_path: Path, moto: Moto) -> None:
    require(journalkit.available(), "systemd-journal-remote and journalctl")
    bucket = moto.new_bucket()
    journal = tmp_path / "oc4d.journal"
    append(journal, _sessions(int(time.time() * 1000)))
    url = f"sqlite:///{tmp_path / 'data' / 'gaze.db'}"
    env = livekit.env_for(journal, tmp_path / "logs", url, **moto.env(bucket, MODULEGAZE_UPLINK_INTERVAL_MINUTES="0.1"))
    process = livekit.start_follower(env, tmp_path / "follow.out")
    try:
        _wait(lambda: len(moto.rows(bucket)) == 2)
    finally:
        assert livekit.stop(process) == 0


def test_backfill_queues_what_it_records_once(tmp_path: Path, moto: Moto) -> None:
    bucket = moto.new_bucket()
    url, engine = sqlite(tmp_path)
    text = "".join(
        f"{time.strftime('%Y-%m-%dT%H:%M:%S+0000', time.gmtime(ms / 1000))} pi oc4d[42]: {line}\n"
        for ms, line in _sessions(int(time.time() * 1000))
    )
    env = {**cli_env(tmp_path, url, moto, bucket), "MODULEFETCH_LOG_DIR": str(tmp_path / "logs")}
    for _ in range(2):  # a second backfill of the same period stores nothing new, queues nothing new
        done = livekit.backfill_cli(["--input", "-", "--format", "text"], env, stdin=text.encode())
        assert done.returncode == 0, done.stderr
        assert counts(engine).queued == 2  # the two switches (the last hits open 0-second sessions)
    assert run_cli(env, "--once").returncode == 0
    assert sorted((r[2], r[5]) for r in moto.rows(bucket)) == [("192.168.4.21", "61"), ("192.168.4.22", "30")]
    engine.dispose()
