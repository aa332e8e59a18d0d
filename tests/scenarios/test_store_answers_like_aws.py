"""Uplink against what AWS answers and moto never does (tests/s3standin.py in front of moto):
a Pi whose clock is hours off (`RequestTimeTooSkewed`), a store asking to slow down (`SlowDown`),
refused credentials (`ExpiredToken`, `InvalidAccessKeyId`, `SignatureDoesNotMatch`) and a bucket
in another region (`PermanentRedirect`). Every record reaches the bucket once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from gaze.uplink import Credentials, Store, Uplink, UplinkConfig, status_text
from tests.s3kit import Moto
from tests.s3standin import MAX_SKEW_S, S3StandIn
from tests.uplinkkit import NAMES, T0, expected, queued, records, store


@pytest.fixture
def stand_in(moto: Moto) -> Iterator[S3StandIn]:
    server = S3StandIn(moto)
    try:
        yield server
    finally:
        server.close()


def uplink_via(
    stand_in: S3StandIn, engine: Engine, bucket: str, credentials: Credentials | None = None, region: str = "us-east-1"
) -> Uplink:
    moto = stand_in.moto
    credentials = credentials or Credentials(moto.access_key, moto.secret_key)
    config = UplinkConfig(Store(bucket, region, credentials, stand_in.endpoint), "org/centres", "testclc", 60)
    return Uplink(config, engine, NAMES.get, batch_records=25)


def codes(stand_in: S3StandIn) -> list[tuple[int, str]]:
    return [(status, code) for status, code, *_ in stand_in.puts()]


@pytest.mark.parametrize(
    ("offset_s", "words"),
    [(2 * 3600 + 3 * 60, "2 h 03 min behind"), (-(3 * 86_400 + 4 * 3600), "3 days 4 h ahead of")],
    ids=["behind", "ahead-days"],
)
def test_a_wrong_clock_signs_again_on_the_stores_time(
    tmp_path: Path, stand_in: S3StandIn, offset_s: int, words: str
) -> None:
    bucket = stand_in.moto.new_bucket()
    engine, recs = queued(tmp_path, 40)
    stand_in.clock_offset_s = offset_s  # the store's clock minus this machine's
    uplink = uplink_via(stand_in, engine, bucket)
    report = uplink.ship()
    assert (report.error, report.objects, report.records) == (None, 2, 40)
    # one refusal, then both batches signed on the store's clock (the second without a refusal)
    assert codes(stand_in) == [(403, "RequestTimeTooSkewed"), (200, ""), (200, "")]
    for _status, _code, _path, _digest, amz_date in stand_in.puts()[1:]:
        signed = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()
        assert abs(signed - stand_in.now()) < MAX_SKEW_S  # x-amz-date and (checked there) the scope's date
    assert abs(uplink.status.clock_offset_s - offset_s) < 2
    assert abs(uplink.status.as_dict()["clockOffsetSeconds"] - offset_s) < 2  # type: ignore[operator]
    text, problem = status_text(uplink.status)
    assert f"this Pi's clock is {words} the store's" in text and problem  # the records' times are off too
    assert uplink.status.last_error is None and f"this Pi's clock is {words} the store's" in report.lines()
    assert sorted(stand_in.moto.rows(bucket)) == sorted(expected(recs))
    # a restarted process learns it again from its first refusal
    again = uplink_via(stand_in, engine, bucket)
    store(engine, records(3, start=T0 + 10**6))
    assert again.ship().records == 3
    assert codes(stand_in)[3:] == [(403, "RequestTimeTooSkewed"), (200, "")]
    # the clock is set right (NTP got through): one refusal of the kept offset, then none
    stand_in.clock_offset_s = 0
    store(engine, records(2, start=T0 + 2 * 10**6))
    report = uplink.ship()
    assert report.error is None and report.records == 2
    assert codes(stand_in)[5:] == [(403, "RequestTimeTooSkewed"), (200, "")]
    assert abs(uplink.status.clock_offset_s) < 2 and status_text(uplink.status) == (
        "uplink: last upload just now · 0 queued",
        False,
    )
    assert len(stand_in.moto.rows(bucket)) == 45
    engine.dispose()


def test_slow_down_backs_off_longer_and_keeps_the_batch(tmp_path: Path, stand_in: S3StandIn) -> None:
    bucket = stand_in.moto.new_bucket()
    engine, recs = queued(tmp_path, 40)
    stand_in.slow_down = 1
    uplink = uplink_via(stand_in, engine, bucket)
    report = uplink.ship()
    assert report.objects == 0 and report.error is not None and "the store asked to slow down" in report.error
    assert uplink.pause_s() == 120  # twice the pause after any other first failure (the 60 s interval)
    text, problem = status_text(uplink.status)
    assert "the store asked to slow down · next try in 2 min" in text and not problem  # not an alarm
    assert uplink.status.as_dict()["slowDown"] is True
    assert uplink.tick() is None and codes(stand_in) == [(503, "SlowDown")]  # waits
    assert uplink.ship().records == 40
    (refused, first, _second) = stand_in.puts()
    assert first[2:4] == refused[2:4]  # the same object, key and bytes
    assert uplink.status.slow_down is False and uplink.status.last_error is None
    assert sorted(stand_in.moto.rows(bucket)) == sorted(expected(recs))
    engine.dispose()


@pytest.mark.parametrize(
    ("code", "setting"),
    [
        ("ExpiredToken", "AWS_SESSION_TOKEN"),
        ("InvalidAccessKeyId", "AWS_ACCESS_KEY_ID; or MODULEGAZE_UPLINK_ENDPOINT"),
        ("SignatureDoesNotMatch", "AWS_SECRET_ACCESS_KEY"),
    ],
)
def test_refused_credentials_name_the_setting_and_wait(
    tmp_path: Path, stand_in: S3StandIn, code: str, setting: str
) -> None:
    moto = stand_in.moto
    bucket = moto.new_bucket()
    engine, _recs = queued(tmp_path, 40)
    credentials = {
        "ExpiredToken": Credentials(moto.access_key, moto.secret_key, "old-session-token"),
        "InvalidAccessKeyId": Credentials("AKIANOBODYHERE", moto.secret_key),
        "SignatureDoesNotMatch": Credentials(moto.access_key, "not-the-secret"),
    }[code]
    stand_in.expired_tokens.add("old-session-token")
    uplink = uplink_via(stand_in, engine, bucket, credentials)
    report = uplink.ship()
    assert report.objects == 0 and report.error is not None and setting in report.error, report.error
    assert [c for _s, c in codes(stand_in)] == [code]  # one request: nothing retried at once
    text, problem = status_text(uplink.status)
    assert setting in text and "next try in 1 min" in text and problem
    assert uplink.tick() is None and len(codes(stand_in)) == 1  # the normal pause, not sooner
    assert uplink.ship().objects == 0 and len(codes(stand_in)) == 2 and uplink.pause_s() == 120
    assert "not-the-secret" not in text and moto.secret_key not in text
    assert moto.objects(bucket) == {}
    engine.dispose()


def test_a_bucket_in_another_region_is_followed_once_and_named(tmp_path: Path, stand_in: S3StandIn) -> None:
    bucket = stand_in.moto.new_bucket()
    engine, recs = queued(tmp_path, 40)
    stand_in.bucket_region = "eu-west-1"
    uplink = uplink_via(stand_in, engine, bucket)
    report = uplink.ship()
    assert (report.error, report.records) == (None, 40)
    assert codes(stand_in) == [(301, "PermanentRedirect"), (200, ""), (200, "")]  # one detour, not one a batch
    assert uplink.status.bucket_region == "eu-west-1" and uplink.status.as_dict()["bucketRegion"] == "eu-west-1"
    text, problem = status_text(uplink.status)
    assert text.endswith("· the bucket is in eu-west-1: set AWS_REGION=eu-west-1") and not problem
    assert sorted(stand_in.moto.rows(bucket)) == sorted(expected(recs))
    # set as it says: no detour, no note
    right = uplink_via(stand_in, engine, bucket, region="eu-west-1")
    store(engine, records(3, start=T0 + 10**6))
    assert right.ship().records == 3 and codes(stand_in)[3:] == [(200, "")]
    assert right.status.bucket_region is None and "AWS_REGION" not in status_text(right.status)[0]
    engine.dispose()
