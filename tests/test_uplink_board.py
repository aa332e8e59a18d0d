"""The board's status strip shows the uplink in words (NiceGUI's simulated user, no browser)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from nicegui.testing import User
from sqlalchemy.orm import Session

from gaze.db import LIVE
from gaze.records import add_records
from tests.browserkit import free_port
from tests.test_dashboard import WAIT, gaze_env, login, services  # noqa: F401 - gaze_env is a fixture
from tests.test_uplink import records

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
