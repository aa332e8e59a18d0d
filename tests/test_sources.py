"""What feeds the recorder (gaze.sources): a real journal file read through the real journalctl, the
simulated classroom in demo mode, and nothing before the checkpoint is loaded."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from gaze.journal import JournalSource
from gaze.recorder import Recorder
from gaze.simulator import DEMO_DETAIL
from gaze.sources import Sources
from tests import journalkit
from tests.conftest import require
from tests.recorderkit import SCENE, SCENE_ROWS, SESSIONS_LOG, expected_log, live_rows, make_settings, open_engine

pytestmark = pytest.mark.usefixtures("clean_env")


async def until(condition: Callable[[], bool]) -> None:
    """Wait for `condition`, a bounded number of times (not a speed check)."""
    for _ in range(300):
        if condition():
            return
        await asyncio.sleep(0.05)


async def test_nothing_starts_before_the_checkpoint_is_loaded(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    engine = open_engine(settings)
    try:
        sources = Sources(Recorder(settings, engine), demo=True)
        sources.start()
        assert not sources.running
    finally:
        engine.dispose()


async def test_a_journal_file_is_followed_and_recorded(tmp_path: Path) -> None:
    require(journalkit.available(), "systemd-journal-remote and journalctl")
    journal = tmp_path / "oc4d.journal"
    journalkit.write_journal(journal, [journalkit.export_entry(e.message, e.realtime_us or 0) for e in SCENE])
    settings = make_settings(tmp_path, journal_since="all")
    engine = open_engine(settings)
    try:
        recorder = Recorder(settings, engine)
        recorder.restore()
        sources = Sources(recorder, JournalSource(file=journal))
        assert recorder.feed is sources
        sources.start()
        assert sources.running
        await until(lambda: len(live_rows(engine)) == len(SCENE_ROWS))
        assert recorder.reader_state.status == "following" and recorder.reader_state.lines == len(SCENE)
        await sources.stop()
        assert not sources.running and recorder.reader_state.status == "stopped"
        assert live_rows(engine) == SCENE_ROWS
        assert (settings.log_dir / SESSIONS_LOG).read_text() == expected_log(SCENE_ROWS)
    finally:
        engine.dispose()


async def test_demo_mode_follows_the_simulated_classroom(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    engine = open_engine(settings)
    try:
        recorder = Recorder(settings, engine)
        recorder.restore()
        sources = Sources(recorder, demo=True)
        sources.start()
        sources.start()  # idempotent
        await until(lambda: recorder.reader_state.lines > 0)
        assert sources.running and recorder.reader_state.status == "following"
        assert recorder.reader_state.detail == DEMO_DETAIL and recorder.reader_state.lines > 0
        await sources.stop()
        assert not sources.running and recorder.reader_state.status == "stopped"
    finally:
        engine.dispose()
