"""Uplink (DESIGN §8) in-process: CSV rows and keys, settings, the outbox in add_records' transaction,
and shipments to a real S3-protocol server (moto, signatures checked) on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from gaze.config import SettingsError, load_settings
from gaze.csvrow import cdn_row as csv_row
from gaze.db import BACKFILL, LIVE, OutboxRow, UplinkBatchRow
from gaze.records import add_records
from gaze.sessions import SessionRecord
from gaze.uplink import Credentials, Store, Uplink, UplinkConfig, status_text, uplink_config
from gaze.uplink.outbox import counts, csv_bytes, next_batch, object_key, queue_since
from gaze.uplink.sigv4 import signed_headers
from tests.s3kit import Moto

T0 = 1_777_905_040_000  # 2026-05-04T14:30:40Z
NAMES = {"cdn_math": "Mathematics, Grade 7", "cdn_acid": 'Acids & "Bases"'}


def records(n: int, start: int = T0, ip: str = "192.168.4.10") -> list[SessionRecord]:
    """n records with distinct end times (one second apart), rotating users and modules."""
    out = []
    for i in range(n):
        end = start + i * 1000 + 250
        module = ("cdn_math", "cdn_acid", "unknown_slug")[i % 3]
        user = ("Guest", "teacher@example.com", "a|b user")[i % 3]
        out.append(SessionRecord(ip, user, module, end - (60 + i % 7) * 1000, end, "switch"))
    return out


def expected(recs: list[SessionRecord]) -> list[tuple[str, ...]]:
    return [csv_row(r.end_ms, r.user, r.ip, r.module, r.duration_s, NAMES.get(r.module)) for r in recs]


def store(engine: Engine, recs: list[SessionRecord], source: str = LIVE, outbox: bool = True) -> int:
    with Session(engine) as db, db.begin():
        return add_records(db, recs, source, outbox=outbox)


# ---------------------------------------------------------------- pure parts


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


def test_status_text_in_words() -> None:
    config = UplinkConfig(Store("b", "us-east-1", Credentials("k", "s")), "", "x", 900)
    uplink = Uplink(config, engine=None)  # type: ignore[arg-type]
    assert status_text(uplink.status, 0) == ("uplink: last upload never · 0 queued", False)
    uplink.status.last_success_ms, uplink.status.queued = 1_000_000, 12
    uplink.status.last_error = "s3://b (AWS us-east-1): the bucket does not exist"
    text, problem = status_text(uplink.status, 1000 + 3 * 86_400)
    assert text == "uplink: last upload 3 days ago · 12 queued · s3://b (AWS us-east-1): the bucket does not exist"
    assert problem


def test_sigv4_matches_the_aws_documented_example() -> None:
    """AWS's worked example "PUT Object" (sig-v4-header-based-auth, single chunk): same signature."""
    store = Store(
        "examplebucket", "us-east-1", Credentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    )
    _scheme, _host, _port, path = store.address("test$file.text")
    assert path == "/test%24file.text"
    headers = signed_headers(
        "PUT",
        "examplebucket.s3.amazonaws.com",
        path,
        b"Welcome to Amazon S3.",
        store,
        datetime(2013, 5, 24, tzinfo=UTC),
        {"Date": "Fri, 24 May 2013 00:00:00 GMT", "x-amz-storage-class": "REDUCED_REDUNDANCY"},
    )
    assert headers["authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
        "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class, "
        "Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"
    )
    # addressing: virtual-hosted on AWS, path style for dotted buckets and for other endpoints
    assert store.address("a b/ü.csv")[1:] == ("examplebucket.s3.us-east-1.amazonaws.com", None, "/a%20b/%C3%BC.csv")
    dotted = Store("org.data", "eu-west-1", store.credentials)
    assert dotted.address("k")[1:] == ("s3.eu-west-1.amazonaws.com", None, "/org.data/k")
    minio = Store("b", "us-east-1", store.credentials, "http://127.0.0.1:9000")
    assert minio.address("p/k.csv") == ("http", "127.0.0.1:9000", 9000, "/b/p/k.csv")


# ---------------------------------------------------------------- settings


@pytest.mark.usefixtures("clean_env")
@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"MODULEGAZE_UPLINK_URL": "https://bucket/x"}, "MODULEGAZE_UPLINK_URL"),
        ({"MODULEGAZE_UPLINK_URL": "s3://Bad_Bucket/x"}, "MODULEGAZE_UPLINK_URL"),
        ({"MODULEGAZE_UPLINK_ENDPOINT": "ftp://store"}, "MODULEGAZE_UPLINK_ENDPOINT"),
        ({"MODULEGAZE_UPLINK_ENDPOINT": "http://key:topsecret@store:9000"}, "MODULEGAZE_UPLINK_ENDPOINT"),
        ({"MODULEGAZE_UPLINK_LOCATION": "accra clc/1"}, "MODULEGAZE_UPLINK_LOCATION"),
        ({"MODULEGAZE_UPLINK_INTERVAL_MINUTES": "0"}, "MODULEGAZE_UPLINK_INTERVAL_MINUTES"),
        ({"MODULEGAZE_UPLINK_INTERVAL_MINUTES": "soon"}, "MODULEGAZE_UPLINK_INTERVAL_MINUTES"),
    ],
)
def test_bad_uplink_setting_is_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], variable: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as info:
        load_settings()
    message = str(info.value)
    assert message.startswith(f"{variable}: ") and "\n" not in message
    assert "topsecret" not in message


@pytest.mark.usefixtures("clean_env")
def test_uplink_combination_checks(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    assert uplink_config(load_settings()) is None  # unset = off
    monkeypatch.setenv("MODULEGAZE_UPLINK_URL", "s3://org-bucket/centres/")
    with pytest.raises(SettingsError, match=r"^MODULEGAZE_UPLINK_LOCATION: required"):
        uplink_config(load_settings())
    monkeypatch.setenv("MODULEGAZE_UPLINK_LOCATION", "accra")
    no_file = {"AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")}
    with pytest.raises(SettingsError, match=r"^AWS_SHARED_CREDENTIALS_FILE: cannot read"):
        uplink_config(load_settings(), no_file)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s3cr3t-value")
    with pytest.raises(SettingsError, match=r"^AWS_ACCESS_KEY_ID: missing") as info:
        uplink_config(load_settings(), {})
    assert "s3cr3t-value" not in str(info.value)
    # the shared credentials file, with a profile and the region from the config file
    creds, conf = tmp_path / "credentials", tmp_path / "config"
    creds.write_text(
        "[default]\naws_access_key_id = AK1\naws_secret_access_key = SK1\n[clc]\naws_access_key_id = AK2\naws_secret_access_key = SK2\n"
    )
    conf.write_text("[profile clc]\nregion = eu-west-1\n")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    environ = {"AWS_SHARED_CREDENTIALS_FILE": str(creds), "AWS_CONFIG_FILE": str(conf), "AWS_PROFILE": "clc"}
    config = uplink_config(load_settings(), environ)
    assert config is not None
    assert (config.store.bucket, config.prefix, config.location, config.interval_s) == (
        "org-bucket",
        "centres",
        "accra",
        900,
    )
    assert (config.store.credentials.access_key, config.store.credentials.secret_key, config.store.region) == (
        "AK2",
        "SK2",
        "eu-west-1",
    )
    assert "SK2" not in repr(config) and "SK2" not in config.describe()


# ---------------------------------------------------------------- the outbox


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


# ---------------------------------------------------------------- against the S3 server


def config_for(
    moto: Moto, bucket: str, *, secret: str | None = None, endpoint: str | None = None, timeout: float = 10
) -> UplinkConfig:
    credentials = Credentials(moto.access_key, secret or moto.secret_key)
    return UplinkConfig(
        Store(bucket, "us-east-1", credentials, endpoint or moto.endpoint, timeout), "org/centres", "testclc", 60
    )


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


def test_wrong_endpoint_and_bad_credentials_in_words(engine: Engine, moto: Moto, tmp_path: Path) -> None:
    bucket = moto.new_bucket()
    store(engine, records(4))
    cases = [
        (config_for(moto, bucket, secret="not-the-secret"), "the secret key does not match"),
        (
            UplinkConfig(Store(bucket, "us-east-1", Credentials("AKIANOBODY", "x"), moto.endpoint), "", "c", 60),
            "does not know this access key",
        ),
        (config_for(moto, "no-such-bucket-here"), "the bucket does not exist"),
        (config_for(moto, bucket, endpoint=f"http://127.0.0.1:{_closed_port()}"), "refused the connection"),
    ]
    for config, words in cases:
        uplink = Uplink(config, engine, NAMES.get)
        report = uplink.ship()
        assert report.error is not None and words in report.error, report.error
        assert uplink.status.last_error == report.error and uplink.status.queued == 4
        assert "not-the-secret" not in report.error and moto.secret_key not in report.error
    assert moto.objects(bucket) == {}
    good = Uplink(config_for(moto, bucket), engine, NAMES.get)
    # the batch formed during the failures goes out with its key and bytes unchanged
    with engine.connect() as conn:
        formed = conn.execute(select(UplinkBatchRow.key, UplinkBatchRow.body)).one()
    assert good.ship().records == 4
    assert moto.objects(bucket) == {formed.key: bytes(formed.body)}


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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
