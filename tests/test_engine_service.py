"""The service's migration (gaze/engine.py `migrate`, run by main.py and Services.connect): a first
start on a new SQLite database gets the newest schema at once, without Alembic's child process
(issue 21: the dashboard answers and its reader starts ~1.5 s sooner on a first install), and the
database is the one the migrations make; a database with tables in it is still Alembic's."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from gaze.db import make_engine
from gaze.engine import head_revision
from gaze.runtime import Runtime
from gaze.services import Services
from tests.recorderkit import make_settings
from tests.test_engine_new import alembic_database, schema_and_rows

pytestmark = pytest.mark.usefixtures("clean_env")


async def test_a_first_start_on_a_new_sqlite_database_needs_no_migration_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    children: list[object] = []
    real_run = subprocess.run

    def run(*args: object, **kwargs: object) -> object:
        children.append(args)
        return real_run(*args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(subprocess, "run", run)  # gaze.engine calls subprocess.run
    settings = make_settings(tmp_path)
    settings.data_dir.mkdir(parents=True)
    engine = make_engine(settings.own_database_url)
    try:
        runtime = Runtime(Services(settings, engine))
        await runtime.open(follow=False)
        assert runtime.services.ready and runtime.services.recorder.restored
    finally:
        engine.dispose()
    assert children == []  # no `python -m gaze.engine` child
    path = Path(settings.own_database_url.removeprefix("sqlite:///"))
    made = schema_and_rows(path)
    assert made[0] == schema_and_rows(alembic_database(tmp_path / "alembic.db"))[0]
    assert made[1]["alembic_version"] == [(head_revision(),)]


async def test_a_database_with_tables_is_still_migrated_by_alembic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(tmp_path)
    settings.data_dir.mkdir(parents=True)
    path = Path(settings.own_database_url.removeprefix("sqlite:///"))
    alembic_database(path)
    engine = make_engine(settings.own_database_url)
    try:
        runtime = Runtime(Services(settings, engine))
        await runtime.open(follow=False)
        assert runtime.services.ready
    finally:
        engine.dispose()
    assert schema_and_rows(path)[0] == schema_and_rows(alembic_database(tmp_path / "alembic.db"))[0]
