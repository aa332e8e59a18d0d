"""gaze.uplink.s3put: a PUT to the S3 test server that fails says why in words, never a secret."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, select

from gaze.db import UplinkBatchRow
from gaze.uplink import Credentials, Store, Uplink, UplinkConfig
from tests.s3kit import Moto
from tests.uplinkkit import NAMES, config_for, records, store


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
