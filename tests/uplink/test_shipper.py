"""gaze.uplink.shipper: Uplink ships the outbox to the S3 test server, every record once, and waits out a store that is away."""

from __future__ import annotations

from sqlalchemy import Engine

from gaze.sessions import SessionRecord
from gaze.uplink import Uplink
from tests.s3kit import Moto
from tests.uplinkkit import NAMES, T0, config_for, expected, records, store


def test_ship_round_trip(engine: Engine, moto: Moto) -> None:
    bucket = moto.new_bucket()
    recs = records(120)
    store(engine, recs)
    uplink = Uplink(config_for(moto, bucket), engine, NAMES.get, batch_records=50)
    report = uplink.ship()
    assert (report.objects, report.records, report.error, report.waiting) == (3, 120, None, 0)
    objects = moto.objects(bucket)
    assert set(objects) == set(report.keys)
    assert all(
        k.startswith("org/centres/ModuleGaze/testclc_custom_") and k.endswith("s_modulegaze_logs.csv") for k in objects
    )
    assert sorted(moto.rows(bucket)) == sorted(expected(recs))
    assert sum(len(b) for b in objects.values()) == report.bytes
    assert uplink.status.last_success_ms is not None and uplink.status.queued == 0
    assert uplink.ship().objects == 0  # nothing twice
    store(engine, records(3, start=T0 + 10**6))
    assert uplink.ship().records == 3
    assert len(moto.rows(bucket)) == 123


def test_store_away_queue_grows_then_drains(engine: Engine, moto: Moto) -> None:
    bucket = moto.new_bucket()
    uplink = Uplink(config_for(moto, bucket, timeout=1.5), engine, NAMES.get, batch_records=40)
    first = records(30)
    store(engine, first)
    assert uplink.ship().records == 30
    moto.pause()
    try:
        later: list[SessionRecord] = []
        for round_ in range(3):  # closed records keep arriving while the store is away
            batch = records(25, start=T0 + (round_ + 1) * 10**6)
            later += batch
            store(engine, batch)
            report = uplink.ship()
            assert report.objects == 0 and report.error is not None and "no answer" in report.error
            assert uplink.status.queued == len(later)
        assert uplink.status.failures == 3 and uplink.pause_s() == 240  # backing off: 60, 120, 240 s
        assert uplink.tick() is None  # still pausing: no attempt
    finally:
        moto.resume()
    report = uplink.ship()
    assert report.error is None and report.records == 75 and uplink.status.queued == 0
    assert uplink.status.failures == 0 and uplink.status.last_error is None
    assert sorted(moto.rows(bucket)) == sorted(expected(first + later))  # every record exactly once
