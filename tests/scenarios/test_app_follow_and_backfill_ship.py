"""Scenario: the web app and `follow` ship on their own clock (and keep serving when the store is wrong); backfill queues what it records, once."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

import pytest

from gaze.uplink.outbox import counts
from tests import journalkit, livekit
from tests.browserkit import App, access_line, append, entry_path, free_port, make_catalog
from tests.conftest import require
from tests.s3kit import Moto
from tests.uplinkkit import cli_env, run_cli, sqlite

pytestmark = pytest.mark.usefixtures("clean_env")


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
