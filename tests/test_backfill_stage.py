"""Backfill's reading process (gaze/backfill_stage.py): the same records and counts as the Ingestor in
this process, for each input (the journal through journalctl -o export, JSON, short-iso text), with
or without progress; it loads no SQLAlchemy; a reading process that stops early is an error."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bench.corpora import SHAPES, UNIT
from gaze.backfill_stage import END, PROGRESS, RECORDS, ROOT, BackfillOptions, Stage
from gaze.ingest import Counters, Ingestor
from gaze.journalctl import JournalSource
from gaze.sessions import SessionStore
from tests import journalkit

pytestmark = pytest.mark.skipif(not journalkit.available(), reason="needs systemd-journal-remote and journalctl")

ENTRIES = 12_000


def staged(options: BackfillOptions, *, progress: bool = False) -> tuple[list[tuple[object, ...]], Counters, int]:
    """The records the reading process sends, its counters, and how many progress messages."""
    stage = Stage.start(options, progress=progress)
    records: list[tuple[object, ...]] = []
    counters = None
    progressed = 0
    try:
        for kind, value in stage.messages():
            if kind == RECORDS:
                records += [tuple(fields) for fields in value]
            elif kind == PROGRESS:
                progressed += 1
            elif kind == END:
                counters = value
    finally:
        stage.close()
    stage.check()
    assert isinstance(counters, Counters)
    return records, counters, progressed


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """The dense bench day as a journal file, its `journalctl -o json` and its short-iso text."""
    folder = tmp_path_factory.mktemp("stage")
    journal, as_json, text = folder / "day.journal", folder / "day.json", folder / "day.txt"
    lines = list(SHAPES["dense"](3).day(ENTRIES))
    journalkit.write_journal(journal, journalkit.entries_from_lines(lines, unit=UNIT))
    ctl = journalkit.journalctl() or "journalctl"
    for path, output in ((as_json, "json"), (text, "short-iso")):
        with path.open("wb") as out:
            subprocess.run([ctl, "--file", str(journal), "-o", output, "-q", "--all"], stdout=out, check=True)
    return journal, as_json, text


def in_process(as_json: Path) -> tuple[list[tuple[object, ...]], Counters]:
    store = SessionStore()
    ingestor = Ingestor(store)
    for line in as_json.read_bytes().splitlines():
        ingestor.add_json_line(line)
    store.close_all()
    records = [(r.ip, r.user, r.module, r.start_ms, r.end_ms, r.reason) for r in ingestor.take()[0]]
    return records, ingestor.counters


@pytest.mark.parametrize("progress", [False, True])
@pytest.mark.parametrize("source", ["journal", "json", "text"])
def test_reading_process_gives_what_the_ingestor_gives(
    day: tuple[Path, Path, Path], tmp_path: Path, source: str, progress: bool
) -> None:
    journal, as_json, text = day
    expected, counters = in_process(as_json)
    assert len(expected) > ENTRIES / 20  # a session-dense day
    if source == "journal":
        options = BackfillOptions(tmp_path, source=JournalSource(unit=UNIT, file=journal))
    else:
        options = BackfillOptions(tmp_path, input=str(as_json if source == "json" else text), format=source)
    records, got, progressed = staged(options, progress=progress)
    assert records == expected
    assert (got.entries, got.hits, got.records, got.ignored) == (
        counters.entries,
        counters.hits,
        counters.records,
        counters.ignored,
    )
    assert progressed >= (1 if progress else 0)


def test_reading_process_loads_no_sqlalchemy() -> None:
    """What the reading process imports (its start-up is on backfill's critical path)."""
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import gaze.backfill_stage as stage; "
        "stage._Reader(300, 20000, False, False); import gaze.journal_export; "
        "print(sorted(m for m in ('sqlalchemy', 'pydantic', 'gaze.db', 'gaze.config') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-I", "-S", "-c", code, str(ROOT)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.replace("'", '"')) == []


def test_a_reading_process_that_stops_early_is_an_error(day: tuple[Path, Path, Path], tmp_path: Path) -> None:
    stage = Stage.start(BackfillOptions(tmp_path, input=str(day[1])))
    os.kill(stage.reader.pid, signal.SIGKILL)
    try:
        kinds = [kind for kind, _ in stage.messages()]
    finally:
        stage.close()
    assert END not in kinds
    with pytest.raises(RuntimeError, match="stopped early"):
        stage.check()


def test_journalctl_failing_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "missing.journal"
    stage = Stage.start(BackfillOptions(tmp_path, source=JournalSource(unit=UNIT, file=missing)))
    try:
        list(stage.messages())
    finally:
        stage.close()
    with pytest.raises(RuntimeError, match="journalctl exited"):
        stage.check()


@pytest.mark.usefixtures("clean_env")
def test_a_backfill_without_database_loads_no_sqlalchemy(day: tuple[Path, Path, Path], tmp_path: Path) -> None:
    """`--no-database` writes the log files only: the command loads no SQLAlchemy (0.3 s of CPU)."""
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); from gaze.cli import dispatch; "
        "code = dispatch(sys.argv[2:]); print(code, 'sqlalchemy' in sys.modules)"
    )
    argv = ["backfill", "--input", str(day[2]), "--format", "text", "--no-database"]
    env = {**os.environ, "MODULEGAZE_DATA_DIR": str(tmp_path / "data"), "MODULEFETCH_LOG_DIR": str(tmp_path / "logs")}
    out = subprocess.run([sys.executable, "-c", code, str(ROOT), *argv], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[-1] == "0 False"
    assert (tmp_path / "logs" / "modulegaze-sessions.log").stat().st_size > 0
