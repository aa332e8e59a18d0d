"""Scenario: the shipping process is SIGKILLed at random points of a shipment; every record still reaches the store exactly once."""

from __future__ import annotations

import random
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gaze.csvrow import cdn_row as csv_row
from gaze.db import LIVE, UplinkBatchRow
from gaze.records import add_records
from gaze.uplink.outbox import counts
from tests.conftest import ROOT
from tests.s3kit import Moto
from tests.uplinkkit import cli_env, records, run_cli, sqlite

pytestmark = pytest.mark.usefixtures("clean_env")


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
