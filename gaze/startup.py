"""Start-up shared by the dashboard (main.py) and the command line (gaze.cli, gaze.uplink.cli): the
checks before anything is written (`prepare`), the database a command works on, the writer lock of
our own data, the exit codes and the stop signals."""

from __future__ import annotations

import signal
from typing import TYPE_CHECKING

from gaze.config import Settings, SettingsError, ensure_writable_dir
from gaze.hardening import private_sqlite_file, redact
from gaze.writerlock import hold

if TYPE_CHECKING:  # SQLAlchemy is loaded where a database is opened: a backfill starts reading first
    from sqlalchemy import Engine

EXIT_BAD_SETTING = 2
EXIT_IN_USE = 1  # not 2: another process writes there now; the unit may restart us once it is gone


def database_engine(url: str, variable: str = "MODULEGAZE_DATABASE_URL") -> Engine:
    """An engine for `url` (no connection yet; a SQLite file is created 0600), or SettingsError
    naming the variable."""
    from sqlalchemy.exc import SQLAlchemyError

    from gaze.db import error_text, make_engine

    try:
        private_sqlite_file(url)  # 0600 before SQLite creates it (it would use 0644)
        return make_engine(url)
    except (SQLAlchemyError, OSError, ValueError) as exc:
        raise SettingsError(redact(f"{variable}: cannot use database {url} ({error_text(exc)})")) from None


def open_database(url: str, variable: str = "MODULEGAZE_DATABASE_URL") -> Engine:
    """Connect and migrate our own database now (one-shot commands), or SettingsError naming the variable."""
    from sqlalchemy.exc import SQLAlchemyError

    from gaze.db import MigrationError, error_text, migrate

    engine = database_engine(url, variable)
    try:
        migrate(engine, in_process=True)
    except (SQLAlchemyError, OSError, ValueError, MigrationError) as exc:
        raise SettingsError(redact(f"{variable}: cannot use database {url} ({error_text(exc)})")) from None
    return engine


def command_database(url: str | None, settings: Settings) -> Engine:
    """The database a command line tool works on: `--database-url`, else our own from the settings."""
    if url:
        return open_database(url, "--database-url")
    if settings.database_url is None:
        ensure_writable_dir(settings.data_dir, "MODULEGAZE_DATA_DIR", private=True)
    return open_database(settings.own_database_url)


def hold_data_dir(settings: Settings, *, demo: bool = False) -> None:
    """The writer lock of our own state (the database, its checkpoint): the data directory, or the
    demo's folder in it for demo data (gaze.simulator.demo.demo_settings). DirectoryInUse when another
    process holds it."""
    from gaze.simulator import DEMO_FOLDER

    directory = settings.data_dir / DEMO_FOLDER if demo else settings.data_dir
    ensure_writable_dir(directory, "MODULEGAZE_DATA_DIR", private=True)
    hold(directory, "MODULEGAZE_DATA_DIR")


def prepare(settings: Settings, *, demo: bool = False) -> Engine:
    """Start-up checks shared by every long-running mode: writable directories, this process the
    only writer of the data and log directories (gaze.writerlock; DirectoryInUse otherwise), a
    database URL we can use. The database itself may still be down: the service connects when it
    answers. Nothing is written before the locks are held."""
    from gaze.uplink import uplink_config

    ensure_writable_dir(settings.log_dir, "MODULEFETCH_LOG_DIR")
    ensure_writable_dir(settings.data_dir, "MODULEGAZE_DATA_DIR", private=True)  # session secret, SQLite file
    hold_data_dir(settings, demo=demo)
    hold(settings.log_dir, "MODULEFETCH_LOG_DIR")
    uplink_config(settings)  # a bad uplink setting stops start-up like any other
    engine = database_engine(settings.own_database_url)
    if settings.journal_file is not None and not settings.journal_file.is_file():
        raise SettingsError(f"MODULEGAZE_JOURNAL_FILE: {settings.journal_file} is not a file")
    if settings.journal_directory is not None and not settings.journal_directory.is_dir():
        raise SettingsError(f"MODULEGAZE_JOURNAL_DIRECTORY: {settings.journal_directory} is not a directory")
    return engine


def exit_on_stop_signals() -> None:
    """SIGTERM/SIGINT end the process with exit code 0 (the dashboard and `follow` alike).

    Installed at start-up, before anything is read: a stop then simply exits. While the dashboard
    serves, uvicorn catches both signals, shuts down (our on_shutdown saves the checkpoint and the
    open sessions), puts back the handler it found and raises the signal again: with the default
    handlers the dashboard then died by the signal after its clean stop (exit -15, or a
    KeyboardInterrupt traceback for SIGINT); with this one it exits 0. `follow` replaces it with
    its own (`follow` below) once its loop runs."""

    def stop(_signum: int, _frame: object) -> None:
        raise SystemExit(0)

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, stop)
