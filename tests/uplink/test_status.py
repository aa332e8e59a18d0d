"""gaze.uplink.status: the uplink's state in words and numbers for the status strip and /healthz."""

from __future__ import annotations

import time

from sqlalchemy import Engine

from gaze.uplink import Credentials, Store, Uplink, UplinkConfig, status_text
from tests.s3kit import Moto
from tests.uplinkkit import NAMES, config_for, records, store


def test_status_text_in_words() -> None:
    config = UplinkConfig(Store("b", "us-east-1", Credentials("k", "s")), "", "x", 900)
    uplink = Uplink(config, engine=None)  # type: ignore[arg-type]
    assert status_text(uplink.status, 0) == ("uplink: last upload never · 0 queued", False)
    uplink.status.last_success_ms, uplink.status.queued = 1_000_000, 12
    uplink.status.last_error = "s3://b (AWS us-east-1): the bucket does not exist"
    text, problem = status_text(uplink.status, 1000 + 3 * 86_400)
    assert text == "uplink: last upload 3 days ago · 12 queued · s3://b (AWS us-east-1): the bucket does not exist"
    assert problem


def test_timing_of_status_fields(engine: Engine, moto: Moto) -> None:
    bucket = moto.new_bucket()
    store(engine, records(2))
    uplink = Uplink(config_for(moto, bucket), engine, NAMES.get)
    before = int(time.time() * 1000)
    uplink.ship()
    body = uplink.status.as_dict()
    assert body["queued"] == 0 and body["lastError"] is None and body["objectsSent"] == 1
    assert isinstance(body["lastSuccessMs"], int) and body["lastSuccessMs"] >= before
    assert moto.secret_key not in repr(body) and moto.access_key not in repr(body)
