"""Fixtures of the session log file tests: a DailyLog in a temporary folder with a controllable day, UTC+2 local time."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gaze.logs.files import DailyLog
from gaze.logs.format import SESSIONS_STEM
from tests.conftest import timezone
from tests.logskit import D1, Clock


@pytest.fixture
def local_tz() -> Iterator[None]:
    """Run every test in UTC+2 (no DST) so local and UTC dates differ around midnight."""
    with timezone("SAST-2"):
        yield


@pytest.fixture
def clock() -> Clock:
    return Clock(D1)


@pytest.fixture
def logdir(tmp_path: Path) -> Path:
    return tmp_path / "logs"


@pytest.fixture
def dlog(logdir: Path, clock: Clock) -> DailyLog:
    return DailyLog(logdir, SESSIONS_STEM, today=clock)
