"""Command line: `backfill`, `follow`, `import-logs`, `export`, `uplink` and `users` sub-commands, and the start-up checks they share with the UI."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import signal
import sys
from datetime import date
from pathlib import Path
from typing import TextIO

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from gaze.auth import ROLES, VIEWER, AuthError
from gaze.config import Settings, SettingsError, ensure_writable_dir, load_settings
from gaze.db import MigrationError, error_text, make_engine, migrate
from gaze.hardening import private_sqlite_file, redact, redact_logging
from gaze.uplink.cli import add_uplink_parser
from gaze.writerlock import DirectoryInUse, hold

# Each command imports what only it needs where it runs: a backfill does not load the board, the
# demo, the catalog or the uplink (start-up is part of every command's time: 0.1 s of ~0.5 s).

EXIT_BAD_SETTING = 2
EXIT_IN_USE = 1  # not 2: another process writes there now; the unit may restart us once it is gone


def database_engine(url: str, variable: str = "MODULEGAZE_DATABASE_URL") -> Engine:
    """An engine for `url` (no connection yet; a SQLite file is created 0600), or SettingsError
    naming the variable."""
    try:
        private_sqlite_file(url)  # 0600 before SQLite creates it (it would use 0644)
        return make_engine(url)
    except (SQLAlchemyError, OSError, ValueError) as exc:
        raise SettingsError(redact(f"{variable}: cannot use database {url} ({error_text(exc)})")) from None


def open_database(url: str, variable: str = "MODULEGAZE_DATABASE_URL") -> Engine:
    """Connect and migrate our own database now (one-shot commands), or SettingsError naming the variable."""
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="main.py", description="Module Gaze: live module sessions from oc4d's journal."
    )
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("serve", help="run the dashboard (the default)")
    follow = sub.add_parser("follow", help="follow the journal and write sessions, without the web UI")
    follow.add_argument("--log-level", default="INFO")
    back = sub.add_parser("backfill", help="rebuild session records from past journal entries")
    src = back.add_mutually_exclusive_group()
    src.add_argument("--input", metavar="FILE|-", help="read journalctl output from a file or stdin")
    back.add_argument(
        "--format", choices=("json", "text"), default="json", help="json = journalctl -o json; text = -o short-iso"
    )
    back.add_argument("--since", help="read the journal from this time (journalctl --since syntax)")
    back.add_argument("--until", help="read the journal up to this time")
    back.add_argument("--directory", type=Path, help="journal directory instead of the system journal")
    src.add_argument("--file", type=Path, help="journal file instead of the system journal")
    back.add_argument("--unit", help="systemd unit (default from MODULEGAZE_JOURNAL_UNIT)")
    back.add_argument(
        "--log-dir", type=Path, help="where to write modulegaze-sessions.log (default MODULEFETCH_LOG_DIR)"
    )
    back.add_argument("--database-url", help="database for the records (default MODULEGAZE_DATABASE_URL / SQLite)")
    back.add_argument("--no-database", action="store_true", help="write the log files only")
    imp = sub.add_parser("import-logs", help="load modulegaze-sessions log files and archives into the database")
    imp.add_argument("directory", type=Path, metavar="DIR", help="folder holding the .log and .log.zip files")
    imp.add_argument("--database-url", help="database for the records (default MODULEGAZE_DATABASE_URL / SQLite)")
    add_uplink_parser(sub)
    exp = sub.add_parser("export", help="write the sessions of a period as CSV (the History page's CSV)")
    exp.add_argument("--since", required=True, metavar="DATE", help="first local day, YYYY-MM-DD")
    exp.add_argument("--until", metavar="DATE", help="last local day, YYYY-MM-DD (default: today)")
    exp.add_argument("--output", type=Path, metavar="FILE", help="write here instead of standard output")
    exp.add_argument("--database-url", help="database to read (default MODULEGAZE_DATABASE_URL / SQLite)")
    users = sub.add_parser("users", help="manage who may log in to the dashboard")
    users_sub = users.add_subparsers(dest="users_command", required=True)
    add = users_sub.add_parser("add", help="add a user (asks for the password)")
    add.add_argument("username")
    add.add_argument("--role", choices=ROLES, default=VIEWER)
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    passwd = users_sub.add_parser("passwd", help="set a user's password")
    passwd.add_argument("username")
    passwd.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    remove = users_sub.add_parser("remove", help="remove a user")
    remove.add_argument("username")
    users_sub.add_parser("list", help="list users and roles")
    return parser


def _read_password(from_stdin: bool) -> str:
    if from_stdin or not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != first:
        raise AuthError("The two passwords differ.")
    return first


def manage_users(
    args: argparse.Namespace, settings: Settings, out: TextIO = sys.stdout, err: TextIO = sys.stderr
) -> int:
    from gaze.auth import Users
    from gaze.simulator import settle_demo

    try:
        # the dashboard's users: in demo mode they live in the demo's database (gaze.simulator.demo.settle_demo)
        settings, demo, _why = settle_demo(settings)
        if demo:
            err.write(f"users of the demo data ({settings.own_database_url}): MODULEGAZE_DEMO decides\n")
        users = Users(command_database(None, settings))
        users.load()
        if args.users_command == "list":
            for user in users.list():
                out.write(f"{user.username}\t{user.role}\n")
        elif args.users_command == "add":
            users.add(args.username, _read_password(args.password_stdin), args.role)
            out.write(f"added {args.username} ({args.role})\n")
        elif args.users_command == "passwd":
            users.set_password(args.username, _read_password(args.password_stdin))
            out.write(f"password of {args.username} changed\n")
        elif args.users_command == "remove":
            users.remove(args.username)
            out.write(f"removed {args.username}\n")
    except SettingsError as exc:
        err.write(f"modulegaze: {exc}\n")
        return EXIT_BAD_SETTING
    except AuthError as exc:
        err.write(f"users: {exc}\n")
        return 1
    return 0


def backfill(args: argparse.Namespace, settings: Settings, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    from gaze.backfill import BackfillOptions, run_backfill
    from gaze.journal import JournalSource

    if args.input is not None and (args.since or args.until or args.directory):
        err.write("backfill: --input cannot be combined with --since/--until/--directory\n")
        return EXIT_BAD_SETTING
    if args.input not in (None, "-") and not Path(args.input).is_file():
        err.write(f"backfill: --input {args.input}: no such file\n")
        return EXIT_BAD_SETTING
    log_dir = args.log_dir or settings.log_dir
    try:  # the only writer of the log folder, and of our database unless told to use another
        variable = "--log-dir" if args.log_dir else "MODULEFETCH_LOG_DIR"
        ensure_writable_dir(log_dir, variable)
        hold(log_dir, variable)
        if not args.no_database and not args.database_url:
            hold_data_dir(settings)
    except SettingsError as exc:
        err.write(redact(f"backfill: {exc}\n"))
        return EXIT_BAD_SETTING
    except DirectoryInUse as exc:
        err.write(redact(f"backfill: {exc}\n"))
        return EXIT_IN_USE
    options = BackfillOptions(
        log_dir=log_dir,
        input=args.input,
        format=args.format,
        since=args.since,
        until=args.until,
        source=JournalSource(
            unit=args.unit or settings.journal_unit,
            directory=args.directory or (None if args.file else settings.journal_directory),
            file=args.file or (None if args.directory else settings.journal_file),
        ),
        idle_timeout_s=settings.idle_timeout_seconds,
        max_sessions=settings.max_open_sessions,
        include_loopback=settings.include_loopback,
        retention_days=settings.retention_days,
        outbox=settings.uplink_url is not None,
    )

    def database() -> Engine:  # opened while journalctl already reads
        return command_database(args.database_url, settings)

    try:
        summary = run_backfill(options, None if args.no_database else database, stderr=err)
    except SettingsError as exc:
        err.write(redact(f"backfill: {exc}\n"))
        return EXIT_BAD_SETTING
    except (OSError, RuntimeError) as exc:
        err.write(redact(f"backfill: {exc}\n"))
        return 1
    except SQLAlchemyError as exc:  # the database stopped answering; refused values are set aside
        err.write(redact(f"backfill: cannot save to the database: {error_text(exc)}\n"))
        return 1
    for line in summary.lines():
        out.write(line + "\n")
    return 0


def import_logs_command(
    args: argparse.Namespace, settings: Settings, out: TextIO = sys.stdout, err: TextIO = sys.stderr
) -> int:
    from gaze.logs.importer import import_logs

    if not args.directory.is_dir():
        err.write(f"import-logs: {args.directory}: no such directory\n")
        return EXIT_BAD_SETTING
    try:
        if not args.database_url:  # our own database: the only writer of it
            hold_data_dir(settings)
        engine = command_database(args.database_url, settings)
    except SettingsError as exc:
        err.write(redact(f"import-logs: {exc}\n"))
        return EXIT_BAD_SETTING
    except DirectoryInUse as exc:
        err.write(redact(f"import-logs: {exc}\n"))
        return EXIT_IN_USE
    try:
        summary = import_logs(engine, args.directory, stderr=err)
    except (OSError, SQLAlchemyError) as exc:
        err.write(redact(f"import-logs: {exc}\n"))
        return 1
    finally:
        engine.dispose()
    for line in summary.lines_out():
        out.write(line + "\n")
    return 0


def export_command(
    args: argparse.Namespace, settings: Settings, out: TextIO = sys.stdout, err: TextIO = sys.stderr
) -> int:
    """The CSV the History page downloads for these days, sessions ending in them (local time)."""
    from gaze.board import Names
    from gaze.catalog import Catalog
    from gaze.devices import DeviceLabels
    from gaze.export import csv_rows
    from gaze.history import Filters
    from gaze.localtime import custom

    try:
        first = date.fromisoformat(args.since)
        last = date.fromisoformat(args.until) if args.until else date.today()
        if last < first:
            raise ValueError(f"--until {last} is before --since {first}")
    except ValueError as exc:
        err.write(f"export: {exc} (dates are YYYY-MM-DD)\n")
        return EXIT_BAD_SETTING
    try:
        engine = command_database(args.database_url, settings)
    except SettingsError as exc:
        err.write(f"export: {exc}\n")
        return EXIT_BAD_SETTING
    catalog = Catalog(database_url=settings.oc4d_database_url, uploads_roots=settings.uploads_roots)
    catalog.reload()
    devices = DeviceLabels(engine)
    try:
        devices.load()
        rows = csv_rows(engine, custom(first, last), Filters(), devices.all(), Names(catalog).module)
        if args.output is None:
            for chunk in rows:
                out.write(chunk)
        else:  # complete or not at all: a half-written file must not look like an export
            tmp = args.output.with_name(f".{args.output.name}.tmp")
            with tmp.open("w", encoding="utf-8", newline="") as handle:
                handle.writelines(rows)
            tmp.replace(args.output)
    except (OSError, SQLAlchemyError) as exc:
        err.write(f"export: {exc}\n")
        return 1
    finally:
        engine.dispose()
    return 0


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


async def follow(settings: Settings, engine: Engine) -> None:
    """Run the reader and the runtime's jobs (limits, alerts, midnight rotation) until SIGTERM/SIGINT."""
    from gaze.runtime import Runtime  # the other commands need neither APScheduler nor the services
    from gaze.services import Services

    services = Services(settings, engine, demo=False)
    runtime = Runtime(services)
    stop = asyncio.Event()

    async def ready() -> None:
        services.log_first_user()  # shown once, in the service log, so the admin can sign in

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    runtime.start()
    opening = asyncio.create_task(runtime.open(follow=True, on_ready=ready))
    await stop.wait()
    opening.cancel()
    await runtime.close()


def dispatch(argv: list[str]) -> int | None:
    """Run a sub-command and return its exit code; None means "run the dashboard"."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        settings = load_settings()
    except SettingsError as exc:
        sys.stderr.write(f"modulegaze: {exc}\n")
        return EXIT_BAD_SETTING
    if args.command == "backfill":
        return backfill(args, settings)
    if args.command == "import-logs":
        return import_logs_command(args, settings)
    if args.command == "users":
        return manage_users(args, settings)
    if args.command == "uplink":
        from gaze.uplink.cli import uplink_command

        return uplink_command(args, settings)
    if args.command == "export":
        return export_command(args, settings)
    if args.command == "follow":
        from gaze.footprint import tune_malloc

        exit_on_stop_signals()
        tune_malloc()  # a service too: before any thread starts
        logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        redact_logging()
        try:
            engine = prepare(settings)
        except SettingsError as exc:
            sys.stderr.write(f"modulegaze: {exc}\n")
            return EXIT_BAD_SETTING
        except DirectoryInUse as exc:
            sys.stderr.write(redact(f"modulegaze: {exc}\n"))
            return EXIT_IN_USE
        asyncio.run(follow(settings, engine))
        return 0
    return None
