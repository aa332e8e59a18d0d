"""gaze.uplink.store: where an object goes (virtual-hosted or path style, the key escaped as S3
signs it), the store in words without a secret, and what the store told us."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from gaze.uplink.store import Credentials, S3Error, Store

KEY = "org/ModuleGaze/accra clc_custom_20260504_143040_61s_modulegaze_logs.csv"
CREDS = Credentials("AKIAEXAMPLE", "very-secret-key", "session-token-value")


def test_aws_uses_the_virtual_hosted_address() -> None:
    store = Store("org-bucket", "eu-west-1", CREDS)
    assert store.address(KEY) == (
        "https",
        "org-bucket.s3.eu-west-1.amazonaws.com",
        None,
        "/org/ModuleGaze/accra%20clc_custom_20260504_143040_61s_modulegaze_logs.csv",
    )


def test_a_bucket_with_dots_uses_the_path_style_on_aws() -> None:
    """A dotted name breaks the TLS certificate match of BUCKET.s3.REGION.amazonaws.com."""
    scheme, host, port, path = Store("org.example.bucket", "us-east-1", CREDS).address("a/b.csv")
    assert (scheme, host, port, path) == ("https", "s3.us-east-1.amazonaws.com", None, "/org.example.bucket/a/b.csv")


def test_an_s3_compatible_endpoint_uses_the_path_style() -> None:
    store = Store("logs", "us-east-1", CREDS, endpoint="http://127.0.0.1:9000")
    assert store.address("x/ü+é;=.csv") == ("http", "127.0.0.1:9000", 9000, "/logs/x/%C3%BC%2B%C3%A9%3B%3D.csv")


def test_the_store_in_words_never_holds_a_secret() -> None:
    aws = Store("org-bucket", "eu-west-1", CREDS)
    other = Store("org-bucket", "us-east-1", CREDS, endpoint="https://minio.example.org")
    assert aws.where() == "s3://org-bucket (AWS eu-west-1)"
    assert other.where() == "s3://org-bucket at https://minio.example.org"
    for text in (aws.where(), other.where(), repr(aws), repr(other), repr(CREDS)):
        assert "very-secret-key" not in text and "session-token-value" not in text


def test_what_the_store_told_is_shared_by_copies() -> None:
    store = Store("org-bucket", "eu-west-1", CREDS)
    copy = replace(store, timeout_s=5.0)
    store.told.clock_offset_s = 3600.0
    store.told.region = "eu-central-1"
    assert copy.told.region == "eu-central-1"
    offset = (copy.told.now() - datetime.now(UTC)).total_seconds()
    assert 3590 < offset < 3610  # the time we sign with is the store's
    assert store == Store("org-bucket", "eu-west-1", CREDS)  # what it told is not part of which store it is


def test_an_s3_error_says_why_and_keeps_the_details() -> None:
    error = S3Error("the bucket is in eu-central-1", status=301, code="PermanentRedirect", region="eu-central-1")
    assert str(error) == "the bucket is in eu-central-1"
    assert (error.status, error.code, error.region, error.clock_offset_s) == (
        301,
        "PermanentRedirect",
        "eu-central-1",
        None,
    )
