"""What the database refuses is set aside in a bounded table: the newest items kept, the dropped
counted; an error is kept as one ASCII line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine

from gaze import setaside
from gaze.recorder import Recorder
from gaze.sessions import SessionRecord
from tests.recorderkit import make_settings
from tests.test_controlchars import T0, _records, _rows


async def test_set_aside_keeps_the_newest_items_and_counts_the_dropped(
    engine: Engine, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(setaside, "MAX_ROWS", 3)
    monitor = Recorder(make_settings(tmp_path, database_url=db_url), engine)
    monitor.restore()
    bad = [SessionRecord("10.0.0.1", f"bad{k}\ud800", "m", T0, T0 + 1000 * (k + 2), "idle") for k in range(5)]
    monitor.ingestor.pending_records.extend([*bad[:2], *_records(3, {})])
    assert await monitor.persist()
    monitor.ingestor.pending_records.extend(bad[2:])
    assert await monitor.persist()
    kept = [json.loads(data)["user"] for (data,) in _rows(db_url, "SELECT data FROM set_aside ORDER BY id")]
    assert kept == ["bad2\ud800", "bad3\ud800", "bad4\ud800"]
    assert (monitor.set_aside.count, monitor.set_aside.dropped) == (5, 2)
    assert len(_rows(db_url, "SELECT id FROM session_record")) == 3


def test_error_line_is_one_ascii_line_with_the_type() -> None:
    line = setaside.error_line(ValueError("bad value caf\u00e9\nsecond line"))
    assert line.startswith("ValueError: bad value caf\\xe9")
    assert line.isascii() and "\n" not in line
