"""gaze.uplink.cli: the `uplink` command run as a process: status, --queue-since, --once, bad input in one line."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from gaze.csvrow import cdn_row as csv_row
from gaze.db import LIVE
from gaze.records import add_records
from tests.browserkit import free_port, make_catalog
from tests.s3kit import Moto
from tests.uplinkkit import T0, cli_env, records, run_cli, sqlite

pytestmark = pytest.mark.usefixtures("clean_env")


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
