"""gaze.uplink.sigv4: AWS Signature Version 4."""

from __future__ import annotations

from datetime import UTC, datetime

from gaze.uplink import Credentials, Store
from gaze.uplink.sigv4 import signed_headers


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
