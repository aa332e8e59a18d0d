"""Start-up (gaze.startup): the database a command works on, the checks before anything is written, the
writer lock of demo data, and an unsupported database URL refused (exit 2, one line, no password)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gaze.config import SettingsError
from gaze.engine import current_revision, head_revision
from gaze.simulator import DEMO_FOLDER
from gaze.startup import command_database, hold_data_dir, prepare
from tests.recorderkit import make_settings
from tests.test_config import _run_main

SECRET = "hunter2-Secret"


@pytest.mark.slow
def test_unsupported_database_url_exits_2(tmp_path: Path) -> None:
    result = _run_main([], {"MODULEGAZE_DATABASE_URL": f"mysql://root:{SECRET}@127.0.0.1/gaze"}, tmp_path)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("modulegaze: MODULEGAZE_DATABASE_URL: "), result.stderr
    assert "unsupported database URL" in lines[0] and "mysql://root:***@127.0.0.1/gaze" in lines[0]
    assert SECRET not in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "data").exists()


@pytest.mark.usefixtures("clean_env")
def test_a_command_works_on_the_given_database_or_our_own(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    own = command_database(None, settings)
    try:
        assert current_revision(own) == head_revision()  # migrated before the command runs
        assert own.url.database == str(tmp_path / "run" / "gaze.db")
    finally:
        own.dispose()
    other = command_database(f"sqlite:///{tmp_path / 'other.db'}", settings)
    try:
        assert current_revision(other) == head_revision() and (tmp_path / "other.db").is_file()
    finally:
        other.dispose()
    with pytest.raises(SettingsError) as refused:
        command_database(f"postgresql://gaze:{SECRET}@127.0.0.1:1/gaze", settings)
    assert str(refused.value).startswith("--database-url: cannot use database") and SECRET not in str(refused.value)


@pytest.mark.usefixtures("clean_env")
def test_prepare_makes_the_folders_and_refuses_a_missing_journal_file(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, journal_file=None)
    engine = prepare(settings)
    try:
        assert settings.log_dir.is_dir() and settings.data_dir.is_dir()
        assert not (settings.log_dir / "gaze.db").exists()  # nothing is written there
    finally:
        engine.dispose()
    missing = make_settings(tmp_path, "second", journal_file=tmp_path / "nowhere.journal")
    with pytest.raises(SettingsError) as refused:
        prepare(missing)
    assert str(refused.value) == f"MODULEGAZE_JOURNAL_FILE: {tmp_path / 'nowhere.journal'} is not a file"


@pytest.mark.usefixtures("clean_env")
def test_demo_data_has_its_own_folder_lock(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    hold_data_dir(settings, demo=True)
    assert (settings.data_dir / DEMO_FOLDER).is_dir()
