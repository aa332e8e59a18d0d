"""gaze.uplink.outbox: the CSV object's bytes and key, the outbox filled by add_records, batches fixed before sending; demo records never queued."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from gaze.config import load_settings
from gaze.csvrow import cdn_row as csv_row
from gaze.db import BACKFILL, LIVE, OutboxRow, UplinkBatchRow
from gaze.records import add_records
from gaze.uplink.outbox import counts, csv_bytes, next_batch, object_key, queue_since
from tests.uplinkkit import NAMES, T0, records, store


def test_csv_row_is_the_organisation_format() -> None:
    row = csv_row(T0 + 999, "teacher@example.com", "192.168.4.238", "cdn_math", 61, "Mathematics")
    assert row == ("teacher@example.com", "14:30:40", "192.168.4.238", "2026-05-04", "Mathematics", "61")
    # unknown module: the raw id; control characters become spaces as in the log line
    assert csv_row(T0, "a\tb|c", "::1", "x\ny", 5) == ("a b|c", "14:30:40", "::1", "2026-05-04", "x y", "5")
    body = csv_bytes([row, csv_row(T0, 'say "hi", ok', "10.0.0.1", "m", 1, "Näme")])
    assert body.startswith(b"User,Access Time,IP Address,Access Date,Module Viewed,Duration Seconds\r\n")
    assert '"say ""hi"", ok"' in body.decode("utf-8") and "Näme" in body.decode("utf-8")
    assert list(csv.reader(io.StringIO(body.decode(), newline="")))[2][0] == 'say "hi", ok'


def test_object_key_names_the_window() -> None:
    key = object_key("org/prefix", "accra-clc", T0 + 10, T0 + 3_600_500)
    assert key == "org/prefix/ModuleGaze/accra-clc_custom_20260504_143040_3601s_modulegaze_logs.csv"
    assert object_key("", "x", T0, T0, extra_s=2) == "ModuleGaze/x_custom_20260504_143040_3s_modulegaze_logs.csv"


def _queued(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(
            select(func.count()).select_from(OutboxRow).where(OutboxRow.batch_id.is_(None))
        ).scalar_one()


def test_outbox_is_filled_by_add_records_when_asked(engine: Engine) -> None:
    recs = records(6)
    assert store(engine, recs[:2], outbox=False) == 2
    assert _queued(engine) == 0  # uplink off: nothing queued
    assert store(engine, recs[2:4]) == 2
    assert _queued(engine) == 2
    assert store(engine, recs[2:4]) == 2  # the same live records again: marked duplicates, not queued
    assert store(engine, recs[3:6], BACKFILL) == 2  # a backfill over them: only the new ones are stored
    assert _queued(engine) == 4
    assert store(engine, recs[4:5]) == 1  # live record taking over a backfilled one: already queued
    assert _queued(engine) == 4
    # a failing transaction queues nothing
    with pytest.raises(RuntimeError), Session(engine) as db, db.begin():
        add_records(db, records(2, start=T0 + 10**7), LIVE, outbox=True)
        raise RuntimeError("crash before commit")
    assert _queued(engine) == 4
    # --queue-since: the older, never queued records, once
    assert queue_since(engine, recs[0].end_ms) == 2
    assert queue_since(engine, 0) == 0
    assert counts(engine).queued == 6


def test_batches_are_fixed_before_sending(engine: Engine) -> None:
    store(engine, records(7))
    first = next_batch(engine, "p", "loc", NAMES.get, limit=5)
    assert first is not None and first.records == 5
    again = next_batch(engine, "p", "loc", NAMES.get, limit=5)
    assert again == first  # unsent: the same key and bytes until the store takes it
    assert counts(engine).waiting == 7 and counts(engine).queued == 2
    # a second batch whose window repeats the first's gets a longer window, never the same key
    with engine.begin() as conn:
        conn.execute(UplinkBatchRow.__table__.update().values(sent_ms=1))
    second = next_batch(engine, "p", "loc", NAMES.get, limit=5)
    assert second is not None and second.key != first.key and second.records == 2


@pytest.mark.usefixtures("clean_env")
def test_demo_records_are_never_queued_nor_shipped(engine: Engine, tmp_path: Path) -> None:
    from gaze.checkpoint import Snapshot
    from gaze.recorder import Recorder
    from gaze.services import Services

    settings = load_settings(
        uplink_url="s3://org-bucket/centres",
        uplink_location="testclc",
        aws_access_key_id="AKIATEST",
        aws_secret_access_key="secret",
        log_dir=tmp_path / "logs",
        data_dir=tmp_path / "data",
    )
    demo = Services(settings, engine, demo=True)
    assert demo.uplink is None
    demo.recorder._commit(Snapshot(None, {}, records(3), [], []))
    assert _queued(engine) == 0
    Recorder(settings, engine)._commit(Snapshot(None, {}, records(2, start=T0 + 10**7), [], []))
    assert _queued(engine) == 2
    assert Services(settings, engine, demo=False).uplink is not None
