"""The board's status strip shows the uplink in words (NiceGUI's simulated user, no browser), and
/healthz the same in numbers."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from nicegui.testing import User
from sqlalchemy.orm import Session

from gaze.db import LIVE
from gaze.records import add_records
from tests.browserkit import free_port
from tests.s3kit import Moto
from tests.s3standin import S3StandIn
from tests.test_auth import raw_client
from tests.test_dashboard import WAIT, gaze_env, login, services  # noqa: F401 - gaze_env is a fixture
from tests.uplinkkit import records

pytest_plugins = ["nicegui.testing.user_plugin"]


@pytest.fixture(autouse=True)
def uplink_env(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """An uplink to a loopback port where nothing listens, tried every 6 s."""
    request.getfixturevalue("gaze_env")  # first: it clears our settings
    monkeypatch.setenv("MODULEGAZE_UPLINK_URL", "s3://org-bucket/centres")
    monkeypatch.setenv("MODULEGAZE_UPLINK_LOCATION", "testclc")
    monkeypatch.setenv("MODULEGAZE_UPLINK_ENDPOINT", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("MODULEGAZE_UPLINK_INTERVAL_MINUTES", "0.1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIATESTCENTRE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "board-must-not-show-this")
    yield


def _store_two() -> None:
    with Session(services().engine) as db, db.begin():
        add_records(db, records(2), LIVE, outbox=True)


async def test_status_strip_shows_last_upload_queue_and_error(user: User) -> None:
    await login(user)
    await user.should_see("uplink: last upload never · 0 queued", retries=WAIT)
    await asyncio.to_thread(_store_two)
    # the first attempt comes a few seconds after start; the store is not there: the reason in words
    await user.should_see("refused the connection", retries=150)
    await user.should_see("2 queued")
    assert "board-must-not-show-this" not in str(user.current_layout)


@pytest.fixture
def clock_behind(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, moto: Moto) -> Iterator[S3StandIn]:
    """The uplink to a store (moto behind tests/s3standin.py) whose clock is 2 h 03 min ahead of ours."""
    request.getfixturevalue("uplink_env")
    stand_in = S3StandIn(moto, clock_offset_s=2 * 3600 + 3 * 60)
    env = moto.env(moto.new_bucket(), MODULEGAZE_UPLINK_ENDPOINT=stand_in.endpoint)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    yield stand_in
    stand_in.close()


async def test_status_strip_and_healthz_say_the_clock_is_off(clock_behind: S3StandIn, user: User) -> None:
    await login(user)
    await asyncio.to_thread(_store_two)
    await user.should_see("this Pi's clock is 2 h 03 min behind the store's", retries=200)
    await user.should_see("0 queued")
    async with raw_client() as client:
        body = (await client.get("/healthz")).json()["uplink"]
    assert abs(body["clockOffsetSeconds"] - 7380) < 2 and body["lastError"] is None and body["recordsSent"] == 2
    assert [code for _status, code, *_ in clock_behind.puts()] == ["RequestTimeTooSkewed", ""]
