"""Catching up (issue 21): the recorder saves full catch-up batches together, up to SAVE_ENTRIES
entries (gaze/recorder.py `_save_later`), so a save's fixed cost is paid per SAVE_ENTRIES; a live
batch is saved at once, the tick saves what a catch-up left, and a run killed between two saves
resumes from the last one with the same records, files and checkpoint as an uninterrupted run."""

from __future__ import annotations

from pathlib import Path

import pytest

from gaze import recorder as recorder_module
from gaze.checkpoint import Snapshot
from gaze.recorder import Recorder
from tests.recorderkit import (
    all_sessions,
    batches,
    checkpoint,
    classroom,
    live_rows,
    make_settings,
    new_monitor,
    open_engine,
    run_through,
)

pytestmark = pytest.mark.usefixtures("clean_env")

CATCH_UP_BATCH = 1000  # a batch the reader delivers with more output waiting (catching up)


def count_commits(monitor: Recorder) -> list[str | None]:
    """The cursor of each save the recorder commits from now on."""
    cursors: list[str | None] = []
    commit = monitor._commit

    def counted(snap: Snapshot) -> None:
        commit(snap)
        cursors.append(snap.cursor)

    monitor._commit = counted  # type: ignore[method-assign]
    return cursors


async def test_catch_up_batches_are_saved_together_and_a_kill_between_saves_loses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recorder_module, "SAVE_ENTRIES", 4 * CATCH_UP_BATCH, raising=False)
    monkeypatch.setattr(recorder_module, "SAVE_S", 3600.0, raising=False)  # a slow machine: by entries only
    entries = classroom(seed=7, n=12 * CATCH_UP_BATCH + 10)
    reference = make_settings(tmp_path, "reference")
    ref_engine = await run_through(reference, entries, size=300)  # live-sized batches: a save each

    settings = make_settings(tmp_path, "caught-up")
    engine = open_engine(settings)
    monitor = await new_monitor(settings, engine)
    saves = count_commits(monitor)
    for batch in batches(entries[: 7 * CATCH_UP_BATCH], CATCH_UP_BATCH):
        await monitor.record(batch, more_coming=True)
    assert saves == [entries[4 * CATCH_UP_BATCH - 1].cursor]  # one save for four batches, not four
    assert checkpoint(engine)[0] == saves[-1]
    engine.dispose()  # killed: three batches fed but not saved

    engine = open_engine(settings)  # the next start reads again after the saved cursor
    monitor = await new_monitor(settings, engine)
    assert monitor.cursor == entries[4 * CATCH_UP_BATCH - 1].cursor
    saves = count_commits(monitor)
    for batch in batches(entries[4 * CATCH_UP_BATCH : 11 * CATCH_UP_BATCH], CATCH_UP_BATCH):
        await monitor.record(batch, more_coming=True)
    await monitor.record(entries[11 * CATCH_UP_BATCH : 11 * CATCH_UP_BATCH + 10])  # a live batch: saved at once
    assert len(saves) == 2 and saves[-1] == entries[11 * CATCH_UP_BATCH + 9].cursor
    for batch in batches(entries[11 * CATCH_UP_BATCH + 10 :], CATCH_UP_BATCH):
        await monitor.record(batch, more_coming=True)
    assert len(saves) == 2  # the last catch-up batch waits for the tick
    await monitor.tick()
    assert saves[-1] == entries[-1].cursor
    assert live_rows(engine) == live_rows(ref_engine)
    assert all_sessions(settings.log_dir) == all_sessions(reference.log_dir)
    assert checkpoint(engine) == checkpoint(ref_engine)


async def test_a_batch_is_saved_before_record_returns_unless_more_output_is_waiting(tmp_path: Path) -> None:
    """However big, a batch recorded without `more_coming` (a caller that is not catching up) is in
    the saved checkpoint when `record` returns: a process killed then resumes after it."""
    entries = classroom(seed=3, n=3 * CATCH_UP_BATCH)
    settings = make_settings(tmp_path, "whole")
    engine = open_engine(settings)
    monitor = await new_monitor(settings, engine)
    saves = count_commits(monitor)
    await monitor.record(entries[: 2 * CATCH_UP_BATCH])
    assert saves == [entries[2 * CATCH_UP_BATCH - 1].cursor]
    assert checkpoint(engine)[0] == saves[-1]
    engine.dispose()
