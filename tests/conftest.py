"""Shared fixtures. Tests that need PostgreSQL, Chromium or journal tools skip without them,
unless MODULEGAZE_REQUIRE_SERVICES=1 (set by .ci/run), which turns those skips into failures."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("MODULEGAZE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def require(condition: bool, what: str) -> None:
    """Skip when `condition` is false — or fail, when the CI says every service must be there."""
    if condition:
        return
    if os.environ.get("MODULEGAZE_REQUIRE_SERVICES") == "1":
        pytest.fail(f"required for this run but missing: {what}")
    pytest.skip(f"missing: {what}")


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards."""
    try:
        import psycopg

        admin = psycopg.connect(PG_URL, autocommit=True, connect_timeout=3)
    except Exception as exc:  # no server here
        require(False, f"PostgreSQL at {PG_URL} ({exc})")
        raise
    schema = f"gaze_test_{uuid.uuid4().hex[:10]}"
    admin.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        admin.close()


@pytest.fixture
def utc_tz() -> Iterator[None]:
    """Run with TZ=UTC so local days are UTC days."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = old
        time.tzset()
