"""Command line: `backfill`, `follow`, `import-logs`, `export`, `uplink` and `users` sub-commands (the
parser is gaze.cli_parser; the start-up checks they share with the UI are gaze.startup)."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from gaze.cli_parser import build_parser
from gaze.config import Settings, SettingsError, ensure_writable_dir, load_settings
from gaze.hardening import redact
from gaze.startup import EXIT_BAD_SETTING, EXIT_IN_USE, hold_data_dir
from gaze.writerlock import DirectoryInUse, hold

if TYPE_CHECKING:
    from sqlalchemy import Engine

# Each command imports what only it needs where it runs: a backfill does not load the board, the
# demo, the catalog or the uplink, and starts reading (gaze.backfill_stage) before it loads
# SQLAlchemy (start-up is part of every command's time).


def _read_password(from_stdin: bool) -> str:
    import getpass

    from gaze.auth import AuthError

    if from_stdin or not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != first:
        raise AuthError("The two passwords differ.")
    return first


def manage_users(
    args: argparse.Namespace, settings: Settings, out: TextIO = sys.stdout, err: TextIO = sys.stderr
) -> int:
    from gaze.auth import AuthError, Users
    from gaze.simulator import settle_demo
    from gaze.startup import command_database

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
    from gaze.backfill_stage import BackfillOptions, Stage

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
        options = BackfillOptions.from_command_line(args, settings, log_dir)
        stage = Stage.start(options, progress=err.isatty())  # reading now, while SQLAlchemy loads
    except SettingsError as exc:
        err.write(redact(f"backfill: {exc}\n"))
        return EXIT_BAD_SETTING
    except DirectoryInUse as exc:
        err.write(redact(f"backfill: {exc}\n"))
        return EXIT_IN_USE
    except OSError as exc:
        err.write(redact(f"backfill: {exc}\n"))
        return 1
    try:  # SQLAlchemy only with a database
        from gaze.backfill import run_backfill
        from gaze.hardening import error_text
        from gaze.startup import command_database

        database_errors: tuple[type[Exception], ...] = ()
        if not args.no_database:
            from sqlalchemy.exc import SQLAlchemyError

            database_errors = (SQLAlchemyError,)
    except BaseException:
        stage.close()
        raise

    def database() -> Engine:  # opened while the reading process reads
        return command_database(args.database_url, settings)

    try:
        summary = run_backfill(options, None if args.no_database else database, stderr=err, stage=stage)
    except SettingsError as exc:
        err.write(redact(f"backfill: {exc}\n"))
        return EXIT_BAD_SETTING
    except (OSError, RuntimeError) as exc:
        err.write(redact(f"backfill: {exc}\n"))
        return 1
    except database_errors as exc:  # the database stopped answering; refused values are set aside
        err.write(redact(f"backfill: cannot save to the database: {error_text(exc)}\n"))
        return 1
    for line in summary.lines():
        out.write(line + "\n")
    return 0


def import_logs_command(
    args: argparse.Namespace, settings: Settings, out: TextIO = sys.stdout, err: TextIO = sys.stderr
) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from gaze.logs.importer import import_logs
    from gaze.startup import command_database

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
    from sqlalchemy.exc import SQLAlchemyError

    from gaze.board import Names
    from gaze.catalog import Catalog
    from gaze.devices import DeviceLabels
    from gaze.export import csv_rows
    from gaze.history import Filters
    from gaze.localtime import custom
    from gaze.startup import command_database

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


async def follow(settings: Settings, engine: Engine) -> None:
    """Run the reader and the runtime's jobs (limits, alerts, midnight rotation) until SIGTERM/SIGINT."""
    import asyncio
    import signal

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
        import asyncio
        import logging

        from gaze.footprint import tune_malloc
        from gaze.hardening import redact_logging
        from gaze.startup import exit_on_stop_signals, prepare

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
