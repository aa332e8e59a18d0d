"""gaze.uplink.status: the uplink's state in words and numbers for the status strip and /healthz."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import Engine

from gaze.uplink import Credentials, Store, Uplink, UplinkConfig, status_text
from gaze.uplink.status import ShipReport, UplinkStatus, ago, clock_text, notes, span
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


@pytest.mark.parametrize(
    ("seconds", "words"),
    [(0, "just now"), (89, "just now"), (90, "2 min ago"), (17 * 60, "17 min ago"), (5399, "90 min ago"),
     (5400, "2 h ago"), (47 * 3600, "47 h ago"), (48 * 3600, "2 days ago"), (3 * 86_400, "3 days ago")],
)  # fmt: skip
def test_ago_in_words(seconds: float, words: str) -> None:
    assert ago(seconds) == words


@pytest.mark.parametrize(
    ("seconds", "words"),
    [(0, "1 min"), (29, "1 min"), (17 * 60, "17 min"), (-17 * 60, "17 min"), (3600, "1 h 00 min"),
     (2 * 3600 + 3 * 60, "2 h 03 min"), (47 * 3600 + 59 * 60, "47 h 59 min"), (48 * 3600, "2 days"),
     (3 * 86_400 + 4 * 3600, "3 days 4 h")],
)  # fmt: skip
def test_span_in_words(seconds: float, words: str) -> None:
    assert span(seconds) == words


def test_clock_text_names_the_direction_and_ignores_a_small_offset() -> None:
    assert clock_text(0) is None and clock_text(59) is None and clock_text(-59) is None
    assert clock_text(2 * 3600 + 3 * 60) == "this Pi's clock is 2 h 03 min behind the store's"
    assert clock_text(-17 * 60) == "this Pi's clock is 17 min ahead of the store's"


def test_status_text_says_the_next_try_the_clock_and_the_region() -> None:
    status = UplinkStatus("s3://b (AWS us-east-1)", last_success_ms=1_000_000, queued=3)
    status.last_error, status.next_attempt_at = "s3://b (AWS us-east-1): no answer", 1000 + 120
    status.clock_offset_s, status.bucket_region = -600, "eu-west-1"
    text, problem = status_text(status, 1000 + 30)
    assert text == (
        "uplink: last upload just now · 3 queued · s3://b (AWS us-east-1): no answer · next try in 2 min"
        " · this Pi's clock is 10 min ahead of the store's · the bucket is in eu-west-1: set AWS_REGION=eu-west-1"
    )
    assert problem
    assert notes(status) == [
        "this Pi's clock is 10 min ahead of the store's",
        "the bucket is in eu-west-1: set AWS_REGION=eu-west-1",
    ]


def test_being_asked_to_slow_down_is_not_a_problem_but_a_wrong_clock_is() -> None:
    status = UplinkStatus("s3://b", last_error="the store asked to slow down", slow_down=True)
    assert status_text(status, 0)[1] is False
    status.clock_offset_s = 3600
    assert status_text(status, 0)[1] is True
    assert status_text(UplinkStatus("s3://b", clock_offset_s=3600), 0)[1] is True


def test_a_ship_report_in_lines() -> None:
    report = ShipReport(objects=1, records=4, bytes=321, keys=["p/a.csv"], error=None, waiting=0)
    assert report.lines() == ["shipped 1 object: 4 records, 321 bytes", "  p/a.csv", "0 records waiting"]
    failed = ShipReport(error="refused the connection", waiting=7, notes=["the bucket is in x: set AWS_REGION=x"])
    assert failed.lines() == [
        "shipped 0 objects: 0 records, 0 bytes",
        "stopped: refused the connection",
        "7 records waiting",
        "the bucket is in x: set AWS_REGION=x",
    ]
